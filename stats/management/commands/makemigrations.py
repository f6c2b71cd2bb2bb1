"""Django's ``makemigrations``, run as the login user (the tables' owner) like ``migrate``:
its consistency check reads ``django_migrations`` before any migration may have created
the application role or granted it that table (config/dbrole.py)."""

from django.core.management.commands import makemigrations
from django.db import connections

from config.dbrole import database_owner


class Command(makemigrations.Command):
    def handle(self, *args, **options):
        with database_owner():
            try:
                return super().handle(*args, **options)
            finally:
                # Closed, not handed back to the application role: on a new cluster
                # (before the first migrate) that role does not exist yet.
                connections.close_all()
