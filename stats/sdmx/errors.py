"""The error of a query the SDMX service refuses, with the HTTP status the SDMX REST
guidelines give it: 400 syntax error, 404 no results, 406 a format not offered, 501 a
query not implemented (written as an SDMX-ML error message by ``structure.error_message``).
"""

from __future__ import annotations

# The standard's error codes in the message body, by HTTP status.
ERROR_CODES = {400: "140", 404: "100", 406: "1000", 501: "501"}


class SdmxError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message
