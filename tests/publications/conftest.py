"""Users in each role and releases with data, for the publishing tests."""

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.utils import timezone

from publications.models import ROLE_DATA_ENTRY, ROLE_EDITOR, ROLE_REVIEWER
from publications.services import release_create
from tests.stats.helpers import import_rows

PASSWORD = "kata-sandi-uji-1"
ROW = ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "40000000")


@pytest.fixture
def roles(db):
    """The groups of migration 0004 (re-made if a transactional test flushed them)."""
    migration = importlib.import_module("publications.migrations.0004_roles")
    if Group.objects.filter(name__in=migration.ROLES).count() < len(migration.ROLES):
        migration.create_roles(django_apps, None)
    return migration.ROLES


@pytest.fixture
def make_user(roles, django_user_model):
    def make(username, *groups, superuser=False):
        user = django_user_model.objects.create_user(
            username=username, password=PASSWORD, is_staff=True, is_superuser=superuser
        )
        user.groups.set(Group.objects.filter(name__in=groups))
        return django_user_model.objects.get(pk=user.pk)  # fresh permission cache

    return make


@pytest.fixture
def clerk(make_user):
    return make_user("entri", ROLE_DATA_ENTRY)


@pytest.fixture
def reviewer(make_user):
    return make_user("peninjau", ROLE_REVIEWER)


@pytest.fixture
def second_reviewer(make_user):
    return make_user("peninjau2", ROLE_REVIEWER)


@pytest.fixture
def editor(make_user):
    return make_user("editor", ROLE_EDITOR)


@pytest.fixture
def superuser(make_user):
    return make_user("admin", superuser=True)


@pytest.fixture
def draft(catalogue, clerk):
    """A draft release with one observation (40,000,000 active participants in 2023)."""
    release = release_create(slug="rilis-2023", title_id="Rilis 2023", title_en="2023", user=clerk)
    import_rows(release, [ROW])
    return release


def in_future(minutes=30):
    return timezone.now() + dt.timedelta(minutes=minutes)
