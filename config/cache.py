"""Django's Redis cache, keeping its redis-py client, and degrading when Redis is away.

``django.core.cache.backends.redis`` builds a new ``redis.Redis`` object for every
operation (it sets up its response callbacks each time); the API's cache hits make two
operations. The client is safe to share: it takes a connection from its pool for each
command. Django keeps one cache object per thread.

Every cache of this site (the API's responses, the pages, the generation token, the rate
limits, the periodic jobs' locks) is an optimisation or a courtesy, never the record:
with Redis unreachable the site must answer from PostgreSQL, uncached. So a failing
operation here gives what a miss gives (``get`` the default, ``add`` False, ``set``
nothing) instead of raising, and opens a breaker: for ``unavailable_pause`` seconds the
process does not try Redis at all, so each request does not wait for a connection that
will not come. One warning when Redis goes away, one when it is back. ``incr`` and
``decr`` still raise: a counter has no value to fall back to.

Sockets time out (``socket_connect_timeout``, ``socket_timeout`` in ``OPTIONS``, short by
default): a host that does not answer must not hold a request for the system's TCP
timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlsplit

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 0.5  # seconds, unless OPTIONS say otherwise
SOCKET_TIMEOUT = 2.0
UNAVAILABLE_PAUSE = 5.0


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("socket_connect_timeout", CONNECT_TIMEOUT)
        kwargs.setdefault("socket_timeout", SOCKET_TIMEOUT)
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(
                    self._servers[index], **self._pool_options
                )
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


class Breaker:
    """Whether this process should try a cache server now; shared by the threads."""

    def __init__(self, location: str, pause: float):
        self.location = location
        self.pause = pause
        self.open_until = 0.0
        self.failing = False
        self._lock = threading.Lock()

    def closed(self) -> bool:
        return time.monotonic() >= self.open_until

    def failed(self, error: Exception) -> None:
        with self._lock:
            self.open_until = time.monotonic() + self.pause
            first = not self.failing
            self.failing = True
        if first:
            logger.warning(
                "cache %s unreachable (%s: %s): serving uncached, trying again every %s s",
                self.location,
                type(error).__name__,
                error,
                self.pause,
            )

    def succeeded(self) -> None:
        if not self.failing:
            return
        with self._lock:
            was_failing, self.failing = self.failing, False
            self.open_until = 0.0
        if was_failing:
            logger.warning("cache %s reachable again", self.location)


_breakers: dict[tuple[str, float], Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(location: str, pause: float) -> Breaker:
    with _breakers_lock:
        breaker = _breakers.get((location, pause))
        if breaker is None:
            breaker = _breakers[(location, pause)] = Breaker(without_password(location), pause)
        return breaker


def without_password(location: str) -> str:
    """The server's URL as a log may show it: no user or password."""
    parts = urlsplit(location)
    if parts.hostname is None and not parts.path:
        return location
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return parts._replace(netloc=netloc).geturl()


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        pause = float(options.pop("unavailable_pause", UNAVAILABLE_PAUSE))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = RedisCacheClient
        self.breaker = breaker_for(str(server), pause)

    def _guarded(self, fallback, operation, *args):
        if not self.breaker.closed():
            return fallback
        try:
            result = operation(*args)
        except RedisError as error:
            self.breaker.failed(error)
            return fallback
        self.breaker.succeeded()
        return result

    def available(self) -> bool:
        """Whether this process uses Redis now (False while the breaker is open)."""
        return self.breaker.closed()

    def ping(self) -> None:
        """Ask the server, whatever the breaker says; raise ``RedisError`` if it does not
        answer. A health check's way: it closes the breaker when the server is back."""
        try:
            self._cache.get_client(write=True).ping()
        except RedisError as error:
            self.breaker.failed(error)
            raise
        self.breaker.succeeded()

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(False, super().add, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._guarded(default, super().get, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(None, super().set, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._guarded(False, super().delete, key, version)

    def get_many(self, keys, version=None):
        return self._guarded({}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._guarded(False, super().has_key, key, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        # Django's answer: the keys that were not stored.
        return self._guarded(list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._guarded(None, super().delete_many, keys, version)

    def clear(self):
        return self._guarded(False, super().clear)
