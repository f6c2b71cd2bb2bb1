"""Django's ``makemigrations``, run as the login user (the tables' owner) like ``migrate``:
its consistency check reads ``django_migrations`` before any migration may have created
the application role or granted it that table (config/dbrole.py)."""

from django.core.management.commands import makemigrations

from config.dbrole import database_owner


class Command(makemigrations.Command):
    def handle(self, *args, **options):
        with database_owner():
            return super().handle(*args, **options)
