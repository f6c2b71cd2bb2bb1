from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Saves and deletes of these models start a new generation of the API's response cache.
API_GENERATION_MODELS = (
    "stats.Topic",
    "stats.CodeList",
    "stats.Code",
    "stats.Indicator",
    "stats.Target",
    "stats.DerivedDefinition",
    "stats.DerivedInput",
)


def api_generation_follow(label: str) -> None:
    """Start a new generation of the API's response cache on every save and delete of the
    model ``label`` ("app.Model") and every change of its many-to-many fields. Apps built
    on stats call it from their ``ready()`` for the models the API shows."""
    from django.apps import apps
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from stats.api.cache import generation_bump

    model = apps.get_model(label)
    post_save.connect(generation_bump, sender=model, dispatch_uid=f"api-gen-s-{label}")
    post_delete.connect(generation_bump, sender=model, dispatch_uid=f"api-gen-d-{label}")
    for field in model._meta.local_many_to_many:
        m2m_changed.connect(
            generation_bump,
            sender=field.remote_field.through,
            dispatch_uid=f"api-gen-m-{label}-{field.name}",
        )


class StatsConfig(AppConfig):
    name = "stats"
    verbose_name = _("Statistics")

    def ready(self):
        for label in API_GENERATION_MODELS:
            api_generation_follow(label)
