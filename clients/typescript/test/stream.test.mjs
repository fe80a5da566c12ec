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
