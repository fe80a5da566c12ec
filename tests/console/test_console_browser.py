"""The operator console and /docs in headless Chromium against a live gateway and the
simulator: sign in by keyboard (the token in a password field) and see the balance, place and
close a trade, watch a price pushed in the simulator arrive, see a refused order's code and
detail (and the previous success message cleared), the admin views, and Swagger UI rendered
with no request leaving the gateway. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from browser_support import Browser, browser
from client_support import ARTIFACTS, LiveGateway
from playwright.sync_api import expect
from sim_control import SimControl

pytestmark = pytest.mark.needs_binary("chromium")


def shot(b: Browser, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    b.page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def sign_in(b: Browser, token: str) -> None:
    page = b.page
    page.goto(f"{b.origin}/console")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#token")).to_have_attribute("type", "password")  # never in clear
    page.focus("#token")
    page.keyboard.insert_text(token)
    page.keyboard.press("Tab")  # to the Sign in button: a keyboard user's path
    expect(page.locator("#sign-in")).to_be_focused()
    page.keyboard.press("Enter")


def test_console_end_to_end(gateway: LiveGateway, control: SimControl) -> None:
    with browser(gateway.url) as b:
        page = b.page
        sign_in(b, gateway.token())
        expect(page.locator("#balance")).to_have_text("10000.00")
        page.wait_for_selector("#connection:has-text('Live')")
        assert "admin" in page.text_content("#who")

        # the chart and the quote, then a price pushed in the simulator
        expect(page.locator("#bid")).not_to_have_text("–")
        control.push_price(server="Sim-Demo", symbol="BTCUSD", bid=91234.5, ask=91240.5)
        expect(page.locator("#bid")).to_have_text("91234.5")
        expect(page.locator("#ask")).to_have_text("91240.5")
        expect(page.locator("#chart")).to_have_attribute("data-last-close", "91234.5")
        assert page.locator("#chart canvas").count() > 0
        shot(b, "signed-in")

        # place a trade: it appears in the positions table from the stream
        page.fill("#symbol", "BTCUSD")
        page.select_option("#side", "buy")
        page.fill("#volume", "0.01")
        page.click("#place")
        row = page.locator("#positions tr").first
        row.wait_for()
        ticket = row.get_attribute("data-ticket")
        assert ticket and page.text_content("#last-result").endswith("retcode 10009")
        expect(page.locator("#margin")).not_to_have_text("0.00")
        shot(b, "position-open")

        # modify its stop loss from its row: the stream's position.modified updates the row
        page.fill(f"input[aria-label='Stop loss of position {ticket}']", "80000")
        page.click(f"button[aria-label='Save stop loss and take profit of position {ticket}']")
        expect(page.locator("#last-result")).to_have_text(re.compile(r"retcode 10009$"))
        position_row = page.locator(f"#positions tr[data-ticket='{ticket}']")
        expect(position_row).to_have_attribute("data-sl", "80000")  # from the event

        # a pending order appears under orders, then is cancelled from its row
        page.select_option("#side", "buy_limit")
        page.fill("#price", "70000")
        page.click("#place")
        order = page.locator("#orders tr").first
        order.wait_for()
        order_ticket = order.get_attribute("data-ticket")
        page.click(f"button[aria-label='Cancel order {order_ticket}']")
        page.wait_for_selector(f"#orders tr[data-ticket='{order_ticket}']", state="detached")
        page.select_option("#side", "buy")
        page.fill("#price", "")

        # close the position from its row
        page.click(f"button[aria-label='Close position {ticket}']")
        page.wait_for_selector(f"#positions tr[data-ticket='{ticket}']", state="detached")

        # a refused order shows its code and detail, and the last success no longer shows
        expect(page.locator("#last-result")).not_to_be_empty()
        page.fill("#symbol", "XAUUSD")
        page.fill("#volume", "5")
        page.click("#place")
        page.wait_for_selector("#errors .code")
        assert page.text_content("#errors .code") == "NO_MONEY"
        assert "money" in page.text_content("#errors").lower()
        expect(page.locator("#last-result")).to_be_empty()
        shot(b, "refused-order")

        # admin views: terminals, scheduler and the audit log (our trades included)
        page.click("#admin-refresh")
        page.wait_for_selector("#terminals tr")
        page.wait_for_selector("#audit tr")
        resident = page.locator("#terminals tr").first.locator("td")
        assert [resident.nth(i).text_content() for i in (0, 2, 3)] == ["t1", "10001", "yes"]
        assert "switches" in page.text_content("#scheduler")
        assert "trade" in page.text_content("#audit")
        shot(b, "admin")

        assert b.foreign == [], b.foreign
        assert b.csp == [], b.csp
        assert b.errors == [], b.errors


def test_docs_render_offline(gateway: LiveGateway) -> None:
    with browser(gateway.url) as b:
        page = b.page
        page.goto(f"{gateway.url}/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        assert "MT5 Gateway" in page.text_content(".swagger-ui .info .title")
        page.wait_for_selector(".opblock")
        assert page.locator(".opblock").count() > 30
        shot(b, "docs")
        assert b.foreign == [], b.foreign
        assert b.errors == [], b.errors
