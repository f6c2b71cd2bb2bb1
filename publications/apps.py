from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublicationsConfig(AppConfig):
    name = "publications"
    verbose_name = _("Publications")

    def ready(self):
        from stats.extensions import extension_register

        from .extension import publishing_extension

        extension_register(publishing_extension)
