"""Markers shared by the test modules."""

import os

import pytest
from django.db import connection


def postgresql_only(reason: str):
    """Skip on SQLite, the embedded default, but never in CI (CI=true runs on PostgreSQL):
    there a PostgreSQL-only test runs, and fails if the database is not PostgreSQL."""
    return pytest.mark.skipif(
        connection.vendor != "postgresql" and os.environ.get("CI") != "true",
        reason=f"{reason}; CI runs it on PostgreSQL",
    )
