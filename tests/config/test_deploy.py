"""The production recipe (deploy/): units that start what exists and restart it, an
environment that passes ``check --deploy`` without a warning, and the security headers."""

from __future__ import annotations

import configparser
import importlib.util
import os
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))
INSTALLED_ROOT = "/srv/angka/"
ENV_FILE = "/etc/angka/angka.env"


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path)
    return parser


def _example_env() -> dict[str, str]:
    env = {}
    for line in (DEPLOY / "angka.env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    return env


def test_there_is_a_unit_for_the_web_the_workers_and_beat():
    assert [path.name for path in UNITS] == [
        "angka-beat.service",
        "angka-web.service",
        "angka-worker-publish.service",
        "angka-worker.service",
    ]


def _worker_queues(name: str) -> tuple[str, str]:
    """The queues (``--queues``) and node name (``--hostname``) of a worker unit."""
    options = dict(
        part.removeprefix("--").split("=", 1)
        for part in shlex.split(_unit(DEPLOY / name)["Service"]["ExecStart"])
        if part.startswith("--") and "=" in part
    )
    return options["queues"], options["hostname"]


def test_publication_has_a_worker_of_its_own_and_every_queue_a_worker():
    from django.conf import settings

    from config.celery import app

    general, general_name = _worker_queues("angka-worker.service")
    publish, publish_name = _worker_queues("angka-worker-publish.service")
    # The general worker never takes a publication's message (it would hold it, due,
    # while its slots run long tasks); the publishing worker takes nothing else.
    assert general.split(",") == [settings.CELERY_TASK_DEFAULT_QUEUE]
    assert publish.split(",") == [settings.ANGKA_PUBLISH_QUEUE]
    assert {general, publish} == set(app.amqp.queues)
    for task in ("publications.release_publish_scheduled", "publications.releases_publish_due"):
        assert app.amqp.router.route({}, task)["queue"].name == publish
    for task in ("stats.opendata_bulk_build", "publications.derived_recompute_request"):
        assert app.amqp.router.route({}, task)["queue"].name == general
    # Two workers on one machine need two node names (%%h: systemd's escape of %h).
    assert general_name != publish_name and general_name.endswith("@%%h")


@pytest.mark.parametrize("path", UNITS, ids=lambda path: path.name)
def test_each_unit_restarts_its_process_and_reads_the_environment_file(path):
    service = _unit(path)["Service"]
    assert service["Restart"] in {"always", "on-failure"}
    assert service["EnvironmentFile"] == ENV_FILE
    assert service["WorkingDirectory"] == INSTALLED_ROOT.rstrip("/")


@pytest.mark.parametrize("path", UNITS, ids=lambda path: path.name)
def test_each_unit_starts_a_command_and_module_of_this_project(path):
    command = shlex.split(_unit(path)["Service"]["ExecStart"])
    program = command[0]
    assert program.startswith(INSTALLED_ROOT)
    # The same virtualenv layout here: the program is installed by requirements.lock.
    assert (ROOT / program.removeprefix(INSTALLED_ROOT)).exists(), program
    name = Path(program).name
    if name == "gunicorn":
        assert (ROOT / command[command.index("-c") + 1]).is_file()
        module, _, application = command[-1].partition(":")
        assert importlib.util.find_spec(module) is not None
        assert hasattr(importlib.import_module(module), application or "application")
    else:
        assert name == "celery"
        app_module = command[command.index("-A") + 1]
        assert hasattr(importlib.import_module(app_module), "celery_app")
        assert command[command.index("-A") + 2] in {"worker", "beat"}


def test_the_environment_example_sets_what_production_needs():
    env = _example_env()
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "NUM_PROXIES"):
        assert env.get(name), name
    assert env["DEBUG"] == "false"
    for name in (
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
    ):
        assert env[name] == "true", name
    assert int(env["SECURE_HSTS_SECONDS"]) >= 31536000


def test_check_deploy_is_clean_with_the_production_environment():
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _example_env() and key != "ANGKA_ALLOW_INSECURE_KEY"
    }
    env.update(_example_env())
    # Reachable services of this run, and a key as the example says to make one.
    env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    env["REDIS_URL"] = os.environ["REDIS_URL"]
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


# --- the Content-Security-Policy ---

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _directives(header: str) -> dict[str, str]:
    return dict(part.strip().partition(" ")[::2] for part in header.split(";"))


@pytest.mark.parametrize(
    "url",
    [
        "/id/",
        "/id/indikator/ACTIVE_PARTICIPANTS/",
        "/api/v1/indicators/",
        "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&format=csv",
    ],
)
def test_every_answer_carries_the_strict_policy(client, demo, clear_cache, url):
    first = client.get(url)
    again = client.get(url)  # from the page or API cache
    assert first.status_code == again.status_code == 200
    assert _directives(first["Content-Security-Policy"]) == POLICY
    assert _directives(again["Content-Security-Policy"]) == POLICY


def test_the_pages_have_no_inline_script_or_style(client, demo, clear_cache):
    for url in ("/id/", "/en/", "/id/indikator/ACTIVE_PARTICIPANTS/", "/id/rilis/"):
        html = client.get(url).content.decode()
        assert " style=" not in html, url
        assert "<style" not in html, url
        assert "<script>" not in html, url


def test_only_the_api_docs_allow_inline_styles(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    policy = _directives(response["Content-Security-Policy"])
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["script-src"] == "'self'"
    assert "<script>" not in response.content.decode()
