// The built stream helper against a live gateway: resume after the socket drops, exact seqs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createMT5Client, staticToken } from "../dist/index.js";

const baseUrl = process.env.MT5GW_URL;
const token = process.env.MT5GW_TOKEN;
const account = process.env.MT5GW_ACCOUNT;

function collector(stream) {
  const waiting = [];
  const seen = [];
  stream.on((m) => {
    seen.push(m);
    for (const w of [...waiting]) {
      if (w.match(m)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  let index = 0;
  return {
    seen,
    next(type, timeoutMs = 20_000) {
      const found = seen.slice(index).find((m) => m.type === type);
      if (found) {
        index = seen.indexOf(found) + 1;
        return Promise.resolve(found);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms`)), timeoutMs);
        waiting.push({
          match: (m) => m.type === type,
          resolve: (m) => {
            clearTimeout(timer);
            index = seen.indexOf(m) + 1;
            resolve(m);
          },
        });
      });
    },
  };
}

test("stream resumes after the socket drops with no gap and no duplicate", async () => {
  const client = createMT5Client({ baseUrl, auth: staticToken(token) });
  const stream = client.stream({ backoffMs: 50 });
  const messages = collector(stream);
  await stream.connect();
  stream.subscribe({ id: "t", channel: ["positions", "orders", "deals"], account_id: account });
  const start = (await messages.next("snapshot")).seq;
  const first = await client.placeTrade({ symbol: "EURUSD", order_type: "buy", volume: 0.1 }, { accountId: account });
  const events = [await messages.next("event"), await messages.next("event")];
  stream.reconnect(); // the socket goes away
  await client.closePosition(first.ticket, { accountId: account }); // while it is away
  while (events.length < 4) events.push(await messages.next("event"));
  stream.close();
  assert.deepEqual(events.map((e) => e.seq), [start + 1, start + 2, start + 3, start + 4]);
  assert.equal(stream.reconnects, 1);
  assert.deepEqual(
    events.filter((e) => e.channel === "positions").map((e) => e.event),
    ["position.opened", "position.closed"],
  );
});

/** A TCP relay to the gateway whose connections can be cut abruptly (RST, no close frame). */
async function relay(target) {
  const net = await import("node:net");
  const { hostname, port } = new URL(target);
  const pairs = new Set();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(Number(port), hostname);
    const pair = { inbound, outbound };
    pairs.add(pair);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const forget = () => pairs.delete(pair);
    for (const side of [inbound, outbound]) {
      side.on("error", () => undefined);
      side.on("close", forget);
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cut() {
      for (const { inbound, outbound } of pairs) {
        inbound.resetAndDestroy();
        outbound.destroy();
      }
      pairs.clear();
    },
    close() {
      this.cut();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

test("a subscription without account_id resumes with after once its socket is cut", async () => {
  const proxy = await relay(baseUrl);
  const client = createMT5Client({ baseUrl, auth: staticToken(token) });
  const stream = client.stream({ baseUrl: proxy.url, backoffMs: 50 });
  const messages = collector(stream);
  const states = [];
  stream.onState((state) => states.push(state));
  try {
    await stream.connect();
    stream.subscribe({ id: "mine", channel: ["positions", "orders", "deals"] }); // the default account
    const snapshot = await messages.next("snapshot");
    assert.equal(snapshot.account_id, account);
    const start = snapshot.seq;
    const first = await client.placeTrade({ symbol: "EURUSD", order_type: "buy", volume: 0.1 });
    const events = [await messages.next("event"), await messages.next("event")];
    proxy.cut(); // no close frame: the client sees the connection die (1006)
    await client.closePosition(first.ticket); // while it is away
    const resumed = await messages.next("subscribed");
    assert.equal(resumed.id, "mine");
    assert.equal(resumed.after, start + 2, "the resubscribe carried after = the last seq seen");
    while (events.length < 4) events.push(await messages.next("event"));
    assert.equal(stream.reconnects, 1);
    assert.equal(messages.seen.filter((m) => m.type === "snapshot").length, 1, "no second snapshot");
    assert.deepEqual(events.map((e) => e.seq), [start + 1, start + 2, start + 3, start + 4]);
    assert.deepEqual(
      events.filter((e) => e.channel === "positions").map((e) => e.event),
      ["position.opened", "position.closed"],
    );
  } finally {
    stream.close();
    await proxy.close();
  }
  assert.ok(states.includes("reconnecting"));
});
