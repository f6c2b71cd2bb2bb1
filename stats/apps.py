from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    name = "stats"
    verbose_name = _("Statistics")

    def ready(self):
        from config.dbrole import role_set

        # The application works as a role that owns no table (config/dbrole.py).
        connection_created.connect(role_set, dispatch_uid="config.dbrole.role_set")
