from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from stats.extensions import extension_register


class PublicationsConfig(AppConfig):
    name = "publications"
    verbose_name = _("Publications")

    def ready(self):
        # The services enqueue tasks by their registered names (the task module imports
        # the services); registering them when Django starts makes the names known in
        # every process, web and shell included, not only in a worker.
        from . import tasks  # noqa: F401
        from .extension import publishing_extension

        extension_register(publishing_extension)
