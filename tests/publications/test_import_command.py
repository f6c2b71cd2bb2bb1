"""The import_observations command: a CSV file into a draft release, every error listed."""

import pytest
from django.core.management import CommandError, call_command

from publications.services import release_create
from stats.models import Observation
from tests.stats.helpers import csv_text

GOOD = ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000")


@pytest.fixture
def release(catalogue):
    return release_create(slug="uji", title_id="Uji", title_en="Test")


def test_management_command_imports_and_reports(release, tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_text(csv_text([GOOD]), encoding="utf-8")
    call_command("import_observations", str(path), "--release", "uji")
    assert "1 new" in capsys.readouterr().out
    assert Observation.objects.filter(release=release).count() == 1


def test_management_command_lists_every_error_and_writes_nothing(release, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(
        csv_text(
            [
                GOOD,
                ("NOPE", "ID", "_T", "_T", "2023", "1"),
                ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023-Q1", "1"),
            ]
        )
    )
    with pytest.raises(CommandError, match="2 error"):
        call_command("import_observations", str(path), "--release", "uji")
    err = capsys.readouterr().err
    assert "line 3, column indicator" in err and "line 4, column period" in err
    assert not Observation.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "--release", "uji"], "file: cannot open"),
        (["x.csv", "--release", "nope"], "--release: no release"),
    ],
)
def test_management_command_bad_arguments_name_the_argument(release, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("import_observations", *args)


def test_dry_run_writes_nothing(release, tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_text(csv_text([GOOD]))
    call_command("import_observations", str(path), "--release", "uji", "--dry-run")
    assert "Dry run" in capsys.readouterr().out
    assert not Observation.objects.exists()
