"""Load the demo data set (idempotent) and optionally a demo staff account."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from publications.demo.loader import demo_load

DEMO_USERNAME = "staf"
DEMO_PASSWORD = "angka-demo-2023"


class Command(BaseCommand):
    help = "Load the demo figures (2023 release, history, targets); running it twice adds nothing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--with-staff",
            action="store_true",
            help=f"also create the local demo staff account {DEMO_USERNAME!r} "
            "(never in production)",
        )

    def handle(self, *args, with_staff: bool, **options):
        result = demo_load()
        self.stdout.write(
            f"Demo data loaded: {result['releases_published']} release(s) published now."
        )
        if with_staff:
            user_model = get_user_model()
            user, created = user_model.objects.get_or_create(
                username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            self.stdout.write(
                f"Staff login: http://127.0.0.1:8000/admin/  user {DEMO_USERNAME}  "
                f"password {DEMO_PASSWORD}"
                + ("" if created else " (account existed; password unchanged)")
            )
