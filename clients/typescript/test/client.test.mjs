// The built client against a live gateway (started by tests/clients/test_typescript_client.py,
// which passes MT5GW_URL and MT5GW_TOKEN and arms the simulator's faults).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError, createMT5Client, staticToken } from "../dist/index.js";

const baseUrl = process.env.MT5GW_URL;
const token = process.env.MT5GW_TOKEN;
const fast = { backoffMs: 50, maxBackoffMs: 500, maxRetryAfterMs: 1000 };

/** A client whose fetch records every request (method and Idempotency-Key). */
function recorded(options = {}) {
  const sent = [];
  const client = createMT5Client({
    baseUrl,
    auth: staticToken(token),
    retry: fast,
    fetch: (request) => {
      sent.push({ method: request.method, path: new URL(request.url).pathname, key: request.headers.get("Idempotency-Key") });
      return fetch(request);
    },
    ...options,
  });
  return { client, sent };
}

test("reads answer the typed bodies", async () => {
  const { client } = recorded();
  const info = await client.accountInfo();
  assert.equal(info.login, 10001);
  assert.equal(info.currency, "USD");
  const bars = await client.marketData("EURUSD", "H1", 5);
  assert.equal(bars.data.length, 5);
  const me = await client.me();
  assert.equal(me.id, "trader-1");
});

test("errors carry code and detail; a refused order is not re-sent", async () => {
  const { client, sent } = recorded();
  await assert.rejects(client.marketData("NOSUCH"), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 404);
    assert.equal(error.code, "SYMBOL_NOT_FOUND");
    return true;
  });
  await assert.rejects(client.placeTrade({ symbol: "XAUUSD", order_type: "buy", volume: 5 }), (error) => {
    assert.equal(error.code, "NO_MONEY");
    assert.equal(error.retcode, 10019);
    assert.equal(error.retryable, false);
    assert.ok(error.idempotencyKey);
    return true;
  });
  assert.equal(sent.filter((s) => s.method === "POST").length, 1);
});

test("trade calls each carry their own Idempotency-Key", async () => {
  const { client, sent } = recorded();
  const opened = await client.placeTrade({ symbol: "BTCUSD", order_type: "buy", volume: 0.01 });
  await client.closePosition(opened.ticket);
  const keys = sent.filter((s) => s.method !== "GET").map((s) => s.key);
  assert.equal(keys.length, 2);
  assert.ok(keys.every(Boolean));
  assert.notEqual(keys[0], keys[1]);
});

test("lost answer: retried with the same key, executed once", async () => {
  // The simulator executes the order, then hangs past this client's 1 s timeout per attempt.
  const { client, sent } = recorded({ timeoutMs: 1000, retry: { ...fast, settleTimeoutMs: 90_000 } });
  const result = await client.placeTrade({ symbol: "EURUSD", order_type: "buy", volume: 0.1, comment: "ts-lost" });
  assert.equal(result.retcode, 10009);
  const posts = sent.filter((s) => s.method === "POST");
  assert.ok(posts.length >= 2, `retried: ${posts.length}`);
  assert.equal(new Set(posts.map((s) => s.key)).size, 1);
  const history = await client.historyOrders();
  const ours = history.orders.filter((o) => o.comment.startsWith(result.client_id));
  assert.equal(ours.length, 1);
  await client.closePosition(result.ticket);
});
