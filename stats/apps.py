from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    name = "stats"
    verbose_name = _("Statistics")

    def ready(self):
        # The task's name known in every process (web and shell too, not only a worker),
        # and the bulk download rebuilt and the HTTP caches purged after each change of
        # public data.
        from . import tasks  # noqa: F401
        from .events import public_data_changed_subscribe
        from .httpcache import http_cache_purge_on_change
        from .opendata.bulk import bulk_rebuild_request

        public_data_changed_subscribe(bulk_rebuild_request)
        public_data_changed_subscribe(http_cache_purge_on_change)

        from config.dbrole import role_set

        # The application works as a role that owns no table (config/dbrole.py).
        connection_created.connect(role_set, dispatch_uid="config.dbrole.role_set")
