"""Template tags that write numbers, periods and dates in the active language."""

from django import template
from django.utils import translation

from .. import formatting
from ..models import Code
from ..texts import text_localized

register = template.Library()


def _language() -> str:
    return "en" if (translation.get_language() or "id")[:2] == "en" else "id"


@register.simple_tag
def value_short(value, unit, decimals=1):
    """{% value_short observation.value indicator.unit indicator.decimals %} -> 7,6 juta."""
    return formatting.value_short(value, unit=unit, language=_language(), decimals=max(decimals, 1))


@register.simple_tag
def value_full(value, decimals=0):
    """{% value_full observation.value indicator.decimals %} -> 40.000.000 / 40,000,000."""
    return formatting.value_full(value, unit="", language=_language(), decimals=decimals)


@register.simple_tag
def value_table(value, unit, decimals=0):
    """{% value_table observation.value indicator.unit indicator.decimals %} -> 45,2 juta."""
    return formatting.value_table(value, unit=unit, language=_language(), decimals=decimals)


@register.simple_tag(takes_context=True)
def series_label(context, series):
    """{% series_label series %} -> "Indonesia, BPU, Semua program": a series by the names
    of its codes in the page's language (the code names read once per page render)."""
    names = context.render_context.get("code_names")
    if names is None:
        names = context.render_context["code_names"] = {
            (code.codelist_id, code.code): code.name for code in Code.objects.all()
        }
    # In the key's order (region, segment, program): the JSON object's is not kept.
    pairs = (pair.split("=", 1) for pair in series.key.split(","))
    return ", ".join(names.get((codelist, code), code) for codelist, code in pairs)


@register.simple_tag
def unit_label(unit):
    return formatting.unit_label(unit, language=_language())


@register.filter
def period_label(period):
    return formatting.period_label(period, language=_language()) if period else ""


@register.filter
def date_label(value):
    return formatting.date_label(value, language=_language()) if value else ""


@register.filter
def datetime_label(value):
    return formatting.date_label(value, language=_language(), time=True) if value else ""


@register.simple_tag
def change_text(change, points=False):
    return formatting.change_text(change, language=_language(), points=points)


@register.simple_tag(takes_context=True)
def language_url(context, language):
    """The current page (with its query) in ``language``: the language switcher's link.

    A page whose other language lives at another address (a news release's translation)
    gives it as ``language_switch`` in its context.
    """
    from django.urls import translate_url

    switch = context.get("language_switch") or {}
    if language in switch:
        return switch[language]
    request = context["request"]
    return translate_url(request.get_full_path(), language)


@register.simple_tag(takes_context=True)
def absolute_language_url(context, language):
    request = context["request"]
    return request.build_absolute_uri(language_url(context, language))


@register.filter
def localized(instance, field):
    """{{ topic|localized:"description" }}: the field in the active language."""
    return instance.localized(field)


@register.filter
def in_language(text):
    """{{ observation.note|in_language }}: a stored note or source in the active language
    (``stats.texts``), or as stored where it has no translation."""
    return text_localized(text or "", language=_language())
