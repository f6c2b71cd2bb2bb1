"""Browser tests: Debian's chromium driven by Playwright (never a downloaded browser).

They are skipped only on a developer machine without /usr/bin/chromium; in CI
(CI=true) a missing browser is a failure (`make test` installs it with apt).
"""

import os
from pathlib import Path

import pytest
from django.core.cache import cache

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# Skipped only on a developer machine without the browser; in CI a missing one fails.
BROWSER_MISSING = not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own database
    # calls are still synchronous, so Django's async guard is lifted for these tests only.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield launched
            launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def site(transactional_db, live_server):
    """The demo data (with its news releases citing live figures) and a scheduled release."""
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from publications.models import Release
    from tests.demo_snapshot import demo_restore

    cache.clear()
    # One transaction: the derived-value recomputes are requested once, after every demo
    # release is in, as they would be after a real publication (when this is the run's
    # first load; later ones copy its rows back, tests/demo_snapshot.py).
    with transaction.atomic():
        demo_restore()
    Release.objects.create(
        slug="angka-tahunan-2025",
        title_id="Angka tahunan 2025",
        title_en="Annual figures 2025",
        status="scheduled",
        scheduled_for=timezone.now() + dt.timedelta(days=10),
    )
    yield live_server
    cache.clear()


@pytest.fixture
def clerk_and_reviewer(site, django_user_model):
    """A data-entry clerk and a reviewer, with the roles of migration 0004 (re-made here:
    the transactional tests flush the groups the migration created)."""
    import importlib

    from django.apps import apps as django_apps
    from django.contrib.auth.models import Group

    from publications.models import ROLE_DATA_ENTRY, ROLE_REVIEWER

    migration = importlib.import_module("publications.migrations.0004_roles")
    if Group.objects.filter(name__in=migration.ROLES).count() < len(migration.ROLES):
        migration.create_roles(django_apps, None)
    users = []
    for username, role in (("entri", ROLE_DATA_ENTRY), ("peninjau", ROLE_REVIEWER)):
        user = django_user_model.objects.create_user(
            username=username, password="kata-sandi-uji-1", is_staff=True
        )
        user.groups.set(Group.objects.filter(name=role))
        users.append(django_user_model.objects.get(pk=user.pk))  # fresh permission cache
    return tuple(users)
