"""Production gunicorn settings: ``gunicorn -c config/gunicorn.conf.py config.wsgi``.

One worker process per core, each with threads (gthread): the threads keep serving while
a client downloads a long CSV or waits on PostgreSQL, and fewer processes mean less
memory and less switching than several per core. The application is loaded once, before
the workers are forked (``preload_app``), so its code and data pages are shared. The
benchmark (``make bench-api``) runs this file as it is.

WEB_CONCURRENCY (workers), GUNICORN_THREADS, GUNICORN_BIND, GUNICORN_TIMEOUT and
GUNICORN_MALLOC_ARENAS (0: glibc's default) override the defaults.
"""

import ctypes
import ctypes.util
import os

workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1))
# gthread, with keep-alive connections spread evenly over the workers (see that module).
worker_class = "config.gunicorn_worker.BalancedThreadWorker"
# 3 threads: enough that a long CSV download leaves threads for the JSON requests. More
# threads share the GIL among more requests at once, spend more CPU handing it over and
# widen the spread of latencies (measured side by side: BENCHMARKS.md, "Measured figures
# behind the settings").
threads = int(os.environ.get("GUNICORN_THREADS", "3"))
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
preload_app = True
# A worker silent for this long is restarted; a CSV download keeps its worker alive.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Idle keep-alive connections are closed after this many seconds.
keepalive = 5
accesslog = None

# glibc gives each thread that allocates under contention an arena of its own and keeps
# what is freed in it: with several threads a worker holds tens of MB it does not use.
# One arena (as MALLOC_ARENA_MAX=1 would set; the GIL serialises the threads anyway).
# Set here, in the master before the application is loaded, so the workers inherit it.
M_ARENA_MAX = -8
MALLOC_ARENAS = int(os.environ.get("GUNICORN_MALLOC_ARENAS", "1"))
_libc_name = ctypes.util.find_library("c")
if _libc_name and MALLOC_ARENAS > 0:
    _mallopt = getattr(ctypes.CDLL(_libc_name), "mallopt", None)
    if _mallopt is not None:
        _mallopt(M_ARENA_MAX, MALLOC_ARENAS)


def pre_fork(server, worker):
    """In the master, before each worker is forked: load what the first request would
    (the URL configuration imports every view, serializer and filter set) and move the
    objects to the collector's permanent generation, so the workers share those pages
    instead of copying them when a request or a collection touches them."""
    import gc

    from django.urls import get_resolver

    resolver = get_resolver()
    # Reading them imports the views and fills the tables reverse() would fill.
    _loaded = (resolver.url_patterns, resolver.reverse_dict)
    gc.freeze()
