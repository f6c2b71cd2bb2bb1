"""Settings, read from the environment only.

PostgreSQL (``DATABASE_URL``) and Redis (``REDIS_URL``: cache and Celery broker) are
required. ``make run`` and ``make test`` run under ``config/services.py``, which starts
project-local servers installed in the virtualenv for whichever of the two is unset;
with both set, the same code runs on the external services (CI, production).
"""

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def celery_broker_url(redis_url: str) -> str:
    """Kombu's spelling of a Redis URL: redis-py's ``unix:///path?db=N`` (the embedded
    Redis's socket) is ``redis+socket:///path?virtual_host=N`` to it."""
    parts = urlsplit(redis_url)
    if parts.scheme != "unix":
        return redis_url
    db = parse_qs(parts.query).get("db", ["0"])[0]
    return f"redis+socket://{parts.path}?virtual_host={db}"


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("ANGKA_ALLOW_INSECURE_KEY") != "1":
        raise ImproperlyConfigured("SECRET_KEY must be set (or DEBUG=true for local use)")
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework.authtoken",
    "csp",
    "stats",
    "publications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every answer, the cached API answers included.
    "csp.middleware.CSPMiddleware",
    # Before anything reads the request: TRACE/CONNECT, and a NUL byte must not reach a query.
    "config.middleware.RequestGuardMiddleware",
    # Public reads: their cache generation, and a replica that has replayed it (else the
    # primary) for their database (config/replicas.py). Before the API's response cache.
    "config.middleware.ReadReplicaMiddleware",
    # Surrogate keys and a max-age within the data generation for the HTTP cache in front,
    # on the answers served below, the API's cached ones included (stats.httpcache).
    "stats.httpcache.HttpCacheMiddleware",
    "stats.api.middleware.ApiCorsMiddleware",
    # Serves the API's cached answers (stats.api.cache) before sessions and authentication.
    "stats.api.middleware.ApiResponseCacheMiddleware",
    # The reads of a public answer no cache served: one snapshot (config/replicas.py).
    "config.middleware.ReadSnapshotMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL must be set (PostgreSQL); `python -m config.services COMMAND` runs "
        "COMMAND with a project-local PostgreSQL when there is none"
    )
# The read API's page statement prepared once per connection (config/db.py); off behind
# a pooler in transaction mode.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)


def database_settings(url: str, name: str = "DATABASE_URL") -> dict[str, Any]:
    """Django's settings of a PostgreSQL database at ``url`` (the primary's and each
    replica's alike)."""
    database: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(f"{name} must name a PostgreSQL database, not {url!r}")
    # A persistent connection is checked before a request uses it, so after a database
    # restart only the requests in flight fail (503, config.middleware), not the next one
    # per thread.
    database["CONN_HEALTH_CHECKS"] = True
    # ISO dates and timestamps whatever the server's default: SQL that formats JSON and
    # CSV text writes ``date::text`` (YYYY-MM-DD), a few times cheaper than to_char().
    # No JIT: the statements that format rows carry many small subplans, so the planner
    # estimates them costly and would compile them for far longer than they run (the
    # cold XLSX and indicator pages, BENCHMARKS.md); nothing the site runs gains from it.
    database.setdefault("OPTIONS", {})["options"] = "-c DateStyle=ISO -c jit=off"
    if DATABASE_PREPARED_STATEMENTS:
        # psycopg prepares nothing while this is None (Django's default). Django's cursors
        # bind on the client and never prepare, whatever it is; this high a threshold
        # means that only statements executed with prepare=True (config.db.PreparedCursor)
        # are.
        database["OPTIONS"]["prepare_threshold"] = 2**31 - 1
    return database


def replica_settings(url: str) -> dict[str, Any]:
    """A read replica's settings: the primary's, a short connect timeout (a replica that
    does not answer is left out, config/replicas.py, and must not hold a request long),
    and, in tests, the primary's test database (no second one is made)."""
    database = database_settings(url, "DATABASE_REPLICA_URLS")
    database["OPTIONS"].setdefault("connect_timeout", 2)
    database["TEST"] = {"MIRROR": "default"}
    return database


DATABASES = {"default": database_settings(DATABASE_URL)}
# Streaming replicas of the primary for public reads (config/replicas.py), comma-separated
# URLs; none: everything on the primary.
ANGKA_REPLICA_ALIASES: list[str] = []
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URLS", ""), start=1):
    DATABASES[f"replica{_number}"] = replica_settings(_url)
    ANGKA_REPLICA_ALIASES.append(f"replica{_number}")
DATABASE_ROUTERS = ["config.replicas.ReplicaRouter"]
# Seconds a replica behind the position a request needs is not asked again (it answers
# from the primary meanwhile); seconds a replica that did not answer is left out.
ANGKA_REPLICA_CHECK_SECONDS = float(os.environ.get("DATABASE_REPLICA_CHECK_SECONDS", "0.2"))
ANGKA_REPLICA_RETRY_SECONDS = float(os.environ.get("DATABASE_REPLICA_RETRY_SECONDS", "5"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The database role the application's statements run as: it may read and write rows but
# owns no table, so it cannot disable the guard triggers, truncate, or change the schema.
# Migrations run as the login user (the owner) and grant this role what it needs
# (config/dbrole.py). Empty: the application runs as the login user.
DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "angka_app")
if DATABASE_APP_ROLE and not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", DATABASE_APP_ROLE):
    raise ImproperlyConfigured(
        "DATABASE_APP_ROLE must be a lower-case PostgreSQL role name (letters, digits, _), "
        f"not {DATABASE_APP_ROLE!r}"
    )

REDIS_URL = os.environ.get("REDIS_URL", "")
if not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL must be set (cache and Celery broker); `python -m config.services "
        "COMMAND` runs COMMAND with a project-local Redis when there is none"
    )
CACHES = {
    "default": {
        # Django's, keeping its redis-py client (config/cache.py).
        "BACKEND": "config.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "angka"),
        # Redis unreachable: answers are served uncached (config/cache.py), after at most
        # the connect timeout, and then without trying for the pause (seconds).
        "OPTIONS": {
            "socket_connect_timeout": float(os.environ.get("CACHE_CONNECT_TIMEOUT", "0.5")),
            "socket_timeout": float(os.environ.get("CACHE_SOCKET_TIMEOUT", "2")),
            "unavailable_pause": float(os.environ.get("CACHE_UNAVAILABLE_PAUSE", "5")),
        },
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Indonesian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Development serves static files through the finders; the folder collectstatic fills
# must exist all the same, or whitenoise warns on every request.
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "media/"
# Large CSV uploads are streamed to a temporary file, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# Behind a proxy that ends TLS (the production recipe, deploy/angka.env.example), which
# sets X-Forwarded-Proto itself: only then may the header be trusted.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# A load balancer's health checks come over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# The site runs no inline script and no inline style: the charts and the tile map are SVG
# with presentation attributes, the bars SVG rectangles. No page may be framed. The API
# docs need inline styles (config/urls.py widens their policy, and theirs only).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Who may frame the embeddable chart view (stats.views.indicator_embed), the one page
# that may be framed: a CSP frame-ancestors source list, space-separated ("*": anyone).
ANGKA_EMBED_FRAME_ANCESTORS = os.environ.get("EMBED_FRAME_ANCESTORS", "*").split()

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    # Every DRF view here is the public read API: one description of what they share.
    "DEFAULT_SCHEMA_CLASS": "stats.api.schema.PublicReadSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "COERCE_DECIMAL_TO_STRING": True,
    # The read API (stats.api.base) throttles anonymous callers per IP; an API token
    # (issued by staff in the admin) gets the higher user rate.
    "DEFAULT_THROTTLE_RATES": {
        "api_anon": os.environ.get("API_ANON_RATE", "120/minute"),
        "api_user": os.environ.get("API_USER_RATE", "3000/minute"),
    },
    # How many proxies of this deployment append to X-Forwarded-For: the client is the
    # address that many hops from the right. 0 (no proxy): the connection's address, and
    # a header the client wrote itself cannot give it a new identity per request.
    "NUM_PROXIES": int(os.environ.get("NUM_PROXIES", "0")),
}
# Seconds a browser, proxy or CDN may keep an API response; the ETag follows publications.
ANGKA_API_MAX_AGE = int(os.environ.get("API_MAX_AGE", "60"))
# Seconds a rendered API response stays in the cache (keyed by its ETag, so a publication
# makes a new key and never serves the old one).
ANGKA_API_CACHE_SECONDS = int(os.environ.get("API_CACHE_SECONDS", "600"))
# The HTTP caches in front (Varnish, deploy/varnish/angka.vcl): where a change of public
# data sends its purge (comma-separated URLs, e.g. http://127.0.0.1:6081/; empty: none),
# how long one attempt may take, and after how many seconds it is sent once more (an
# answer in flight during the first purge; 0: never). stats.httpcache.
HTTP_CACHE_PURGE_URLS = [
    url.strip() for url in os.environ.get("HTTP_CACHE_PURGE_URLS", "").split(",") if url.strip()
]
HTTP_CACHE_PURGE_TIMEOUT = float(os.environ.get("HTTP_CACHE_PURGE_TIMEOUT", "2"))
HTTP_CACHE_PURGE_REPEAT_SECONDS = int(os.environ.get("HTTP_CACHE_PURGE_REPEAT_SECONDS", "5"))
# With read replicas, the purge waits (at most this long) until they have replayed the
# change, so that the misses it causes are answered by replicas, not all by the primary.
HTTP_CACHE_PURGE_REPLICA_WAIT = float(os.environ.get("HTTP_CACHE_PURGE_REPLICA_WAIT", "2"))
SPECTACULAR_SETTINGS = {
    "TITLE": "angka API",
    "DESCRIPTION": (
        "Open statistics of Indonesia's workers' social security, BPJS Ketenagakerjaan "
        "(BPJAMSOSTEK): indicators, code lists, series, observations (exact values, as "
        "published now or at any past instant), releases, news releases and the release "
        "calendar. Read-only and public: no key is needed. Anonymous clients are "
        "rate-limited per address (429 with Retry-After past the limit); an API token, "
        "sent as `Authorization: Token <key>`, raises the limit. Lists page with a cursor "
        "(follow `next`) and come as CSV too (`format=csv`). Every parameter is checked: a "
        "bad one is a 400 that names it and says why."
    ),
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The schema in English whatever the request's language (stats/api/schema.py).
    "DEFAULT_GENERATOR_CLASS": "stats.api.schema.EnglishSchemaGenerator",
}

CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
# Publication has a queue of its own, consumed by a worker of its own (`-Q publish`:
# deploy/angka-worker-publish.service, scripts/serve.sh): a worker whose pool slots are all
# busy with a long task (the bulk download's rebuild, a recompute) holds a task whose
# time has come until a slot frees, so a release would wait behind it. The general worker
# is started with `-Q celery` so that it never takes (and sits on) a publication message;
# a worker started without -Q consumes both queues (one machine, the tests).
ANGKA_PUBLISH_QUEUE = "publish"
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(ANGKA_PUBLISH_QUEUE))
CELERY_TASK_ROUTES = {
    # The task queued for a release's time, and the beat job that catches a lost one
    # (its run is what /readyz reads for beat: it shows that the publishing worker runs).
    "publications.release_publish_scheduled": {"queue": ANGKA_PUBLISH_QUEUE},
    "publications.releases_publish_due": {"queue": ANGKA_PUBLISH_QUEUE},
}
CELERY_TIMEZONE = TIME_ZONE
# Redis outages: the worker and beat wait for the broker as long as it takes, at start
# and after a loss, rather than exiting after a hundred attempts; a supervisor restarting
# them is the second line, not the first.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A task running when the connection drops cannot be acknowledged any more: it is
# stopped and runs again (publication and recompute are safe to run twice, and the
# outbox sweeper takes over a recompute whose message was lost with the broker).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A connection that died without a word (a restarted server, a dropped route) is
    # found by a PING before it is used, instead of hanging a publish or a poll.
    "health_check_interval": 25,
    "socket_connect_timeout": 5,
    "socket_keepalive": True,
}
# Seconds between two runs of each beat job. Production keeps the minute that the
# release calendar promises; the fault tests shorten it to see a recovery in seconds.
ANGKA_BEAT_INTERVAL = float(os.environ.get("BEAT_INTERVAL", "60"))
# A job queued while no worker could take it is dropped once the next one is due.
_BEAT_EXPIRES = max(ANGKA_BEAT_INTERVAL - 5, 1)
CELERY_BEAT_SCHEDULE: dict = {
    # Publishes any scheduled release whose time has passed, should its own task be lost.
    "publish-due-releases": {
        "task": "publications.releases_publish_due",
        "schedule": ANGKA_BEAT_INTERVAL,
        "options": {"expires": _BEAT_EXPIRES},
    },
    # Enqueues again the derived-value recomputes not finished (lost task, killed worker)
    # and the failed ones whose next attempt is due.
    "sweep-derived-recompute-requests": {
        "task": "publications.derived_sweep_requests",
        "schedule": ANGKA_BEAT_INTERVAL,
        "options": {"expires": _BEAT_EXPIRES},
    },
}
# A publication must not hang on a broker outage: the outbox and the sweeper recover.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}

# /readyz (config/health.py): the worker's heartbeat (every 15 s) and the last run of the
# beat job publish-due-releases (every minute) older than this many seconds are down.
ANGKA_READY_WORKER_MAX_AGE = float(os.environ.get("READY_WORKER_MAX_AGE", "60"))
ANGKA_READY_BEAT_MAX_AGE = float(os.environ.get("READY_BEAT_MAX_AGE", "180"))

# Import: a revision that moves a value by more than this many percent is flagged
# in the preview so the reviewer looks twice.
ANGKA_REVISION_WARNING_PERCENT = float(os.environ.get("ANGKA_REVISION_WARNING_PERCENT", "10"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
