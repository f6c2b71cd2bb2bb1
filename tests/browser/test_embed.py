"""The embeddable chart in a real browser: a page of another origin may frame it; every
other page of the site refuses to be framed (X-Frame-Options DENY, frame-ancestors
'none')."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .conftest import BROWSER_MISSING, CHROMIUM

pytestmark = pytest.mark.skipif(
    BROWSER_MISSING, reason=f"{CHROMIUM} is missing (run `make install-browser`); CI runs these"
)


@pytest.fixture
def reader_site():
    """A reader's site on another origin (its own server on 127.0.0.1): ``serve(html)``
    publishes its one page and gives its URL."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get("page", b"")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(html: str) -> str:
        pages["page"] = html.encode()
        return f"http://127.0.0.1:{server.server_address[1]}/reader.html"

    yield serve
    server.shutdown()
    server.server_close()


def test_embed_view_is_framed_by_another_origin_and_a_normal_page_is_refused(
    site, page, reader_site, screenshot
):
    embed = site.url + "/id/indikator/ACTIVE_PARTICIPANTS/embed/?frequency=A"
    normal = site.url + "/id/indikator/ACTIVE_PARTICIPANTS/"
    reader = reader_site(
        "<!DOCTYPE html><html><head><title>reader</title></head><body>"
        f'<iframe name="embed" src="{embed}" width="720" height="560"></iframe>'
        f'<iframe name="normal" src="{normal}" width="720" height="560"></iframe>'
        "</body></html>"
    )
    assert reader.split("/")[2] != site.url.split("/")[2]  # another origin
    answered = {}
    page.on("response", lambda response: answered.setdefault(response.url, response.status))
    page.goto(reader, wait_until="load")

    framed = page.frame(name="embed")
    assert framed is not None and framed.url == embed
    framed.wait_for_selector("svg.chart")
    assert framed.locator("h1.embed-title").inner_text() == "Peserta aktif"
    assert framed.locator("svg.chart path.series-line").count() >= 1
    back = framed.locator(".embed-link a").get_attribute("href")
    assert back is not None and back.startswith(normal + "?frequency=A")
    assert "CC-BY-4.0" in framed.locator(".embed-credit").inner_text()

    # The ordinary page was served, and the browser refused to show it in the frame.
    assert answered.get(normal) == 200
    blocked = page.frame(name="normal")
    assert blocked is not None
    assert blocked.url.startswith("chrome-error://")
    assert blocked.locator("svg.chart").count() == 0
    screenshot(page, "embed-framed-by-another-origin")
