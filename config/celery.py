"""The Celery app; configuration comes from Django settings (CELERY_ prefix)."""

import os

from celery import Celery, bootsteps

from config import health

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("angka")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Records, every ``health.WORKER_INTERVAL`` seconds while the worker consumes from its
    broker, that it lives (/readyz reads it). A step of the consumer: it stops when the
    broker connection is lost and starts again with it."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        self.timer_entry = None
        super().__init__(parent, **kwargs)

    def start(self, parent):
        health.worker_beat()
        self.timer_entry = parent.timer.call_repeatedly(
            health.WORKER_INTERVAL, health.worker_beat, priority=10
        )

    def stop(self, parent):
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    shutdown = stop


app.steps["consumer"].add(WorkerHeartbeat)
