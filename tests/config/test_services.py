"""config.services: the project-local PostgreSQL and Redis that `make run` and `make test`
start when DATABASE_URL / REDIS_URL are unset (the embedded default's smoke test)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import dj_database_url
import kombu
import psycopg
import pytest
import redis

from config.services import VAR, database_url, embedded_postgres, embedded_redis
from config.settings import celery_broker_url

ROOT = Path(__file__).resolve().parents[2]


def _env_without_services() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["DEBUG"] = "true"
    return env


def test_a_socket_directory_is_the_host_of_the_database_url():
    url = database_url("/srv/angka/var/pg", "angka")
    assert url == "postgres://postgres@%2Fsrv%2Fangka%2Fvar%2Fpg/angka"
    parsed = dj_database_url.parse(url)
    assert (parsed["HOST"], parsed["PORT"], parsed["NAME"], parsed["USER"]) == (
        "/srv/angka/var/pg",
        "",
        "angka",
        "postgres",
    )
    assert dj_database_url.parse(database_url("db.example", "x", "u", "6543"))["PORT"] == 6543


def test_the_celery_broker_url_is_kombus_spelling_of_a_redis_socket():
    assert celery_broker_url("unix:///srv/var/redis/redis.sock?db=1") == (
        "redis+socket:///srv/var/redis/redis.sock?virtual_host=1"
    )
    assert celery_broker_url("unix:///srv/var/redis/redis.sock") == (
        "redis+socket:///srv/var/redis/redis.sock?virtual_host=0"
    )
    assert celery_broker_url("redis://127.0.0.1:6379/11") == "redis://127.0.0.1:6379/11"


def test_the_embedded_postgresql_makes_its_database_and_stops_at_the_end(tmp_path):
    data = tmp_path / "pg"
    with embedded_postgres(data) as url:
        with psycopg.connect(url) as conn:
            name, version = conn.execute(
                "SELECT current_database(), current_setting('server_version_num')::int"
            ).fetchone()
        assert name == "angka"
        assert version >= 160000
        assert (data / "postmaster.pid").exists()
    assert not (data / "postmaster.pid").exists()  # stopped
    with embedded_postgres(data) as url, psycopg.connect(url) as conn:  # again: no initdb
        assert conn.execute("SELECT current_database()").fetchone() == ("angka",)


def test_the_embedded_redis_is_a_celery_broker_on_a_socket_and_stops_at_the_end(tmp_path):
    data = tmp_path / "redis"
    with embedded_redis(data, db=3) as url:
        assert url == f"unix://{data / 'redis.sock'}?db=3"
        client = redis.Redis.from_url(url)
        assert client.ping()
        assert client.connection_pool.connection_kwargs["db"] == 3
        queue = kombu.Queue(f"smoke-{uuid.uuid4().hex}")
        with kombu.Connection(celery_broker_url(url)) as broker:
            with broker.Producer() as producer:
                producer.publish({"n": 1}, routing_key=queue.name, declare=[queue])
            assert client.llen(queue.name) == 1  # in db 3
            message = queue(broker.default_channel).get(no_ack=True)
            assert message.payload == {"n": 1}
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url).ping()


def test_the_launcher_runs_a_command_with_both_services_and_passes_on_its_status():
    running_before = (VAR / "pg" / "postmaster.pid").exists()
    script = (
        "import os, psycopg, redis, sys; "
        "c = psycopg.connect(os.environ['DATABASE_URL']); "
        "print(c.execute('SELECT current_database()').fetchone()[0]); "
        "print(redis.Redis.from_url(os.environ['REDIS_URL']).ping()); "
        "print(os.environ['REDIS_URL']); sys.exit(3)"
    )
    done = subprocess.run(
        [sys.executable, "-m", "config.services", "--redis-db", "2", sys.executable, "-c", script],
        cwd=ROOT,
        env=_env_without_services(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout.splitlines() == [
        "angka",
        "True",
        f"unix://{VAR / 'redis' / 'redis.sock'}?db=2",
    ]
    # Left as found: stopped if this launcher started it, running if another one did.
    assert (VAR / "pg" / "postmaster.pid").exists() == running_before


@pytest.mark.parametrize("variable", ["DATABASE_URL", "REDIS_URL"])
def test_settings_refuse_to_start_without_a_service(variable):
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": "postgres://x/y",
        "REDIS_URL": "redis://x",
    }
    del env[variable]
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert f"{variable} must be set" in done.stderr
    assert "python -m config.services" in done.stderr
