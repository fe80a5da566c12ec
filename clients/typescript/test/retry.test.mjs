// Retry-After as delay-seconds or as an HTTP-date (no gateway needed).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Attempts, DEFAULT_RETRY, retryAfterMs } from "../dist/index.js";

const NOW = Date.parse("Wed, 21 Oct 2026 07:28:00 GMT");

test("retry-after: seconds and HTTP-dates are read, anything else is not", () => {
  assert.equal(retryAfterMs("7", NOW), 7000);
  assert.equal(retryAfterMs("1.5", NOW), 1500);
  assert.equal(retryAfterMs("Wed, 21 Oct 2026 07:28:30 GMT", NOW), 30_000);
  assert.equal(retryAfterMs("Wed, 21 Oct 2026 07:27:00 GMT", NOW), 0, "a past date: now");
  assert.equal(retryAfterMs("soon", NOW), null);
  assert.equal(retryAfterMs("", NOW), null);
  assert.equal(retryAfterMs(null, NOW), null);
});

test("retry-after: an HTTP-date is honoured by the retry rules, capped", () => {
  const policy = { ...DEFAULT_RETRY, backoffMs: 1, maxBackoffMs: 1, maxRetryAfterMs: 30_000 };
  const inAnHour = new Date(Date.now() + 3_600_000).toUTCString();
  assert.equal(new Attempts(policy, "read").afterResponse(503, {}, inAnHour), 30_000);
  const past = new Date(Date.now() - 3_600_000).toUTCString();
  assert.equal(new Attempts(policy, "read").afterResponse(503, {}, past), 0);
  assert.equal(new Attempts(policy, "trade").afterResponse(409, { code: "IDEMPOTENCY_IN_PROGRESS" }, inAnHour), 30_000);
});
