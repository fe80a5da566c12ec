// When to send a call again (the same rules as the Python client, see its retry.py):
// - reads: on network errors, 503 and 504;
// - trade calls: one Idempotency-Key per call, reused by every retry, so the order runs at most
//   once; retried on network errors, 503 and 504 unless the answer says retryable: false or is
//   a replay; 409 IDEMPOTENCY_IN_PROGRESS and 504 OUTCOME_UNKNOWN are waited out with the same
//   key until settleTimeoutMs, and so is a lost answer; a refused order (REQUOTE, NO_MONEY...) is never re-sent;
// - other writes: only when the connection failed before anything was sent.
// Retry-After is honoured (capped), otherwise exponential backoff with jitter.

export type Kind = "read" | "trade" | "write";

export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  maxRetryAfterMs: number;
  settleTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 4,
  backoffMs: 250,
  maxBackoffMs: 8000,
  maxRetryAfterMs: 30_000,
  settleTimeoutMs: 120_000,
};

const SETTLING = new Set(["IDEMPOTENCY_IN_PROGRESS", "OUTCOME_UNKNOWN"]);

/**
 * A Retry-After header in ms: delay-seconds (what the gateway sends) or an HTTP-date (what a
 * proxy may send), counted from `now`; null when absent or unreadable. Never negative.
 */
export function retryAfterMs(value: string | null, now: number = Date.now()): number | null {
  const text = value?.trim();
  if (!text) return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const moment = Date.parse(text);
  return Number.isNaN(moment) ? null : Math.max(0, moment - now);
}

export class Attempts {
  private sent = 0;
  private transient = 0;
  private readonly started = Date.now();

  constructor(
    private readonly policy: RetryPolicy,
    private readonly kind: Kind,
  ) {}

  private backoff(): number {
    const base = Math.min(this.policy.maxBackoffMs, this.policy.backoffMs * 2 ** Math.max(0, this.sent - 1));
    return base * (0.5 + Math.random() / 2);
  }

  private delay(retryAfter: string | null): number {
    const hint = retryAfterMs(retryAfter);
    return hint === null ? this.backoff() : Math.min(hint, this.policy.maxRetryAfterMs);
  }

  private next(retryAfter: string | null): number | null {
    this.transient += 1;
    return this.transient >= this.policy.attempts ? null : this.delay(retryAfter);
  }

  /** Waiting for a trade's own outcome is bounded by settleTimeoutMs, not by attempts. */
  private settling(retryAfter: string | null): number | null {
    const waited = Date.now() - this.started;
    if (waited >= this.policy.settleTimeoutMs) return null;
    return Math.min(this.delay(retryAfter), this.policy.settleTimeoutMs - waited);
  }

  /** Delay in ms before the next attempt after a network failure, or null: give up. */
  afterNetworkError(connectFailed: boolean): number | null {
    this.sent += 1;
    if (connectFailed) return this.next(null); // nothing was sent
    if (this.kind === "write") return null; // it may have been sent: not repeatable
    if (this.kind === "trade") return this.settling(null); // a lost answer: same key again
    return this.next(null);
  }

  /** Delay in ms before the next attempt after this answer, or null: it is the answer. */
  afterResponse(status: number, body: Record<string, unknown>, retryAfter: string | null): number | null {
    this.sent += 1;
    if (status < 400 || this.kind === "write") return null;
    const code = typeof body.code === "string" ? body.code : "";
    if (this.kind === "trade") {
      if (body.replayed) return null;
      if (SETTLING.has(code)) return this.settling(retryAfter);
      if (body.retryable === false) return null;
    }
    if ((status !== 503 && status !== 504) || code === "OUTCOME_UNKNOWN") return null;
    return this.next(retryAfter);
  }
}
