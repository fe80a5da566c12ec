// The built React hooks rendered with react-dom in a jsdom document against a live gateway
// (started by tests/clients/test_typescript_client.py, which pushes simulator prices while this
// runs): useMT5API reads, trades and shows errors; useMT5Stream + useLivePositions follow a
// position opened and closed; useLiveQuotes shows pushed prices; an inline `auth:` re-rendered
// keeps one client and one socket.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { JSDOM } from "jsdom";
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { staticToken } from "../dist/index.js";
import { useLivePositions, useLiveQuotes, useMT5API, useMT5Stream } from "../dist/react.js";

const baseUrl = process.env.MT5GW_URL;
const token = process.env.MT5GW_TOKEN;

let dom;
let sockets = 0;
const NodeWebSocket = globalThis.WebSocket;

before(() => {
  dom = new JSDOM("<!doctype html><html><body><div id=root></div></body></html>");
  globalThis.window = dom.window;
  globalThis.document = dom.window.document;
  // Count every socket the hooks open (the stream takes globalThis.WebSocket when it opens).
  globalThis.WebSocket = class CountingWebSocket extends NodeWebSocket {
    constructor(...args) {
      super(...args);
      sockets += 1;
    }
  };
});

after(() => {
  globalThis.WebSocket = NodeWebSocket;
  dom.window.close();
});

/** What the component saw on its last render, and every client and stream it was handed. */
const probe = { renders: 0, clients: new Set(), streams: new Set(), api: null, state: null, live: null, quotes: {} };

function Trader({ tick }) {
  // The pitfall under test: a new token provider object on every render.
  const api = useMT5API({ baseUrl, auth: staticToken(token) });
  const { stream, state } = useMT5Stream(api.client);
  const live = useLivePositions(stream);
  const quotes = useLiveQuotes(stream, ["EURUSD"]);
  probe.renders += 1;
  probe.clients.add(api.client);
  probe.streams.add(stream);
  Object.assign(probe, { api, state, live, quotes });
  return createElement(
    "section",
    { "data-tick": tick },
    createElement("p", { id: "state" }, state),
    createElement("p", { id: "positions" }, String(live.positions.length)),
    createElement("p", { id: "error" }, api.error ? `${api.errorCode}: ${api.error}` : ""),
    createElement("p", { id: "quote" }, quotes.EURUSD ? String(quotes.EURUSD.bid) : ""),
  );
}

/** Wait (polling the rendered page) until `check` holds; fails with `what` after 20 s. */
async function until(what, check) {
  for (let i = 0; i < 400; i += 1) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`never: ${what}`);
}

const text = (id) => document.getElementById(id)?.textContent ?? null;

test("hooks render live: reads, trades, positions from the stream, quotes, errors, one socket", async () => {
  const root = createRoot(document.getElementById("root"));
  root.render(createElement(Trader, { tick: 0 }));
  try {
    await until("the stream is live", () => text("state") === "live");
    await until("the snapshot arrived", () => probe.live.seq !== null);
    for (let tick = 1; tick <= 5; tick += 1) {
      root.render(createElement(Trader, { tick }));
      await until(`render ${tick}`, () => document.querySelector("section")?.dataset.tick === String(tick));
    }
    assert.ok(probe.renders >= 6);
    assert.equal(probe.clients.size, 1, "one client whatever the renders");
    assert.equal(probe.streams.size, 1, "one stream whatever the renders");
    assert.equal(sockets, 1, "the stream never reconnected because of a render");
    assert.equal(text("state"), "live");

    const info = await probe.api.getAccountInfo();
    assert.equal(info.login, 10001);

    const before = probe.live.positions.length;
    const trade = await probe.api.placeTrade("EURUSD", "buy", 0.1);
    await until("the position appears", () => text("positions") === String(before + 1));
    assert.ok(probe.live.positions.some((p) => p.ticket === trade.ticket));
    await probe.api.closePosition(trade.ticket);
    await until("the position goes", () => text("positions") === String(before));

    await assert.rejects(probe.api.getMarketData("NOSUCH"));
    await until("the error shows", () => text("error").startsWith("SYMBOL_NOT_FOUND: "));
    assert.equal(probe.api.loading, false);

    await until("a quote shows", () => Boolean(text("quote")));
    const first = text("quote");
    await until("a newer quote shows", () => text("quote") !== first);
    assert.equal(probe.quotes.EURUSD.symbol, "EURUSD");
    assert.equal(sockets, 1);
  } finally {
    root.unmount();
  }
  await until("the stream closed on unmount", () => [...probe.streams][0].state === "closed");
});
