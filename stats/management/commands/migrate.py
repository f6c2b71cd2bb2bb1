"""Django's ``migrate``, run as the login user (the tables' owner), not as the
application role every other command works as (config/dbrole.py)."""

from django.core.management.commands import migrate

from config.dbrole import database_owner


class Command(migrate.Command):
    def handle(self, *args, **options):
        with database_owner(options["database"]):
            return super().handle(*args, **options)
