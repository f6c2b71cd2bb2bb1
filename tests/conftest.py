"""Fixtures shared by the whole suite."""

import pytest

from stats.demo.loader import codelists_load, indicators_load


@pytest.fixture
def catalogue(db):
    """Code lists (regions, segments, programs) and the demo indicators, no observations."""
    codelists_load()
    indicators_load()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        username="petugas", password="kata-sandi-uji-1", is_staff=True, is_superuser=True
    )
