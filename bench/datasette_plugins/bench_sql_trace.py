"""A Datasette plugin for bench-api's set-up check only (never loaded by the Datasette it
measures): for a request carrying ``X-Bench-Trace: 1`` it records every SQL statement
with Datasette's own tracer (``datasette.tracer.capture_traces``, what ``?_trace=1``
uses) and returns them in the ``X-Bench-SQL`` header, as base64 of a JSON list.

``?_trace=1`` itself adds its trace only to JSON objects under 256 KB, so it says
nothing about a ``_shape=array`` answer of 1,000 rows; this reads the same tracer for
exactly the URLs the benchmark loads."""

import base64
import json

from datasette import hookimpl
from datasette.tracer import capture_traces


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def traced(scope, receive, send):
            headers = dict(scope.get("headers") or [])
            if scope.get("type") != "http" or headers.get(b"x-bench-trace") != b"1":
                await app(scope, receive, send)
                return
            traces = []

            async def send_with_trace(message):
                if message["type"] == "http.response.start":
                    statements = [
                        {"sql": t.get("sql"), "params": t.get("params")}
                        for t in traces
                        if t.get("type") == "sql"
                    ]
                    encoded = base64.b64encode(json.dumps(statements, default=str).encode())
                    message = {
                        **message,
                        "headers": [*message.get("headers", []), (b"x-bench-sql", encoded)],
                    }
                await send(message)

            with capture_traces(traces):
                await app(scope, receive, send_with_trace)

        return traced

    return wrap
