"""Small builders shared by the stats tests."""

import csv
import io

from stats.services import observations_import

HEADER = ["indicator", "region", "segment", "program", "period", "value", "status", "note"]


def csv_text(rows, header=HEADER) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        row = list(row)
        if header is HEADER:
            row += [""] * (len(HEADER) - len(row))
            if not row[6]:
                row[6] = "normal"
        writer.writerow(row)
    return buffer.getvalue()


def import_rows(release, rows, *, commit=True):
    """Import (indicator, region, segment, program, period, value[, status, note]) rows."""
    report = observations_import(stream=io.StringIO(csv_text(rows)), release=release, commit=commit)
    assert report.ok, report.errors
    return report


def _form_data(form) -> dict:
    """What a browser posts for ``form`` as the admin rendered it, unchanged."""
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        key = form.add_prefix(name)
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [str(item) for item in value]
        elif value is not None:
            data[key] = str(value)
    return data


def admin_change(client, obj, **changes):
    """Post the admin's change form of ``obj`` as a person would: the form as shown, with
    ``changes`` (field name -> posted text), inlines unchanged. The response must be the
    redirect of a save."""
    from django.urls import reverse

    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = _form_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(
            {
                formset.management_form.add_prefix(name): str(value)
                for name, value in formset.management_form.initial.items()
            }
        )
        for form in formset.initial_forms:
            data.update(_form_data(form))
    data.update(changes)
    response = client.post(url, data)
    assert response.status_code == 302, getattr(response.context, "get", lambda *_: None)("errors")
    return response
