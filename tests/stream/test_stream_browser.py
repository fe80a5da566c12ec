"""The browser client of docs/stream.md, as written there, in a real Chromium: it authenticates
by first message from an allowed Origin, receives a REST trade's events, and after a reload
resumes from the seq it kept, receiving exactly what it missed."""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))

from deploy_support import require_binary
from playwright.async_api import Page, async_playwright
from stream_support import Stack

pytestmark = [pytest.mark.anyio, pytest.mark.needs_binary("chromium")]

DOC = Path(__file__).resolve().parents[2] / "docs" / "stream.md"


def client_code() -> str:
    """The JavaScript block of the "browser client" section, as documented."""
    section = DOC.read_text().split("## A browser client that subscribes and resumes", 1)[1]
    match = re.search(r"```js\n(.*?)```", section, re.S)
    assert match, "docs/stream.md lost its browser snippet"
    return match.group(1).replace("export function", "function")


PAGE = """<!doctype html><html><body><script>
%s
window.got = [];
window.start = (url, token, accountId) => {
  const session = { access_token: token };
  const supabase = { auth: { getSession: async () => ({ data: { session } }) } };
  window.stop = openStream({ url, supabase, accountId,
    onEvent: (m) => window.got.push(m), onQuote: () => {}, onStatus: (m) => window.got.push(m) });
};
</script></body></html>"""


@pytest.fixture
def page_server() -> Iterator[str]:
    body = (PAGE % client_code()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def _events(page: Page, count: int) -> list[dict[str, Any]]:
    await page.wait_for_function(
        f"window.got.filter((m) => m.type === 'event').length >= {count}", timeout=30_000
    )
    got: list[dict[str, Any]] = await page.evaluate("window.got")
    return [m for m in got if m.get("type") == "event"]


async def _trade(stack: Stack) -> None:
    body = {"symbol": "EURUSD", "order_type": "buy", "volume": 0.1}
    async with stack.http() as http:
        response = await http.post("/trades", json=body, params={"account_id": stack.ids.hedging})
    assert response.status_code == 200, response.text


async def test_documented_browser_client_subscribes_and_resumes(
    make_stack: Callable[..., Stack], page_server: str
) -> None:
    chromium = require_binary("chromium")
    stack = make_stack(stream_watch_linger_s=60.0, cors_origins=[page_server])
    args = [stack.ws_url, stack.token(), stack.ids.hedging]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.goto(page_server)
            await page.evaluate("([u, t, a]) => window.start(u, t, a)", args)
            await page.wait_for_function("window.got.some((m) => m.snapshot)", timeout=30_000)
            await _trade(stack)
            first = await _events(page, 2)
            await page.evaluate("window.stop()")
            await _trade(stack)  # while the page is away
            await asyncio.sleep(1.0)
            await page.reload()
            await page.evaluate("([u, t, a]) => window.start(u, t, a)", args)
            missed = await _events(page, 2)
            await _trade(stack)
            both = await _events(page, 4)
        finally:
            await browser.close()
    seqs = [e["seq"] for e in first + both]
    assert seqs == list(range(seqs[0], seqs[0] + 6))
    assert [e["event"] for e in missed] == ["deal.added", "position.opened"]
