// @ts-check
// REST calls of the console: bearer token, one Idempotency-Key per trade call (kept for its
// retries), retries on network errors, 503 and 504 honouring Retry-After, never a re-send of a
// refused order. Errors become ApiError with the gateway's detail and code.

export class ApiError extends Error {
  /** @param {number} status @param {Record<string, any>} body */
  constructor(status, body) {
    super(`${body.code || "HTTP_" + status}: ${body.detail || "request failed"}`);
    this.status = status;
    this.code = String(body.code || `HTTP_${status}`);
    this.detail = String(body.detail || "request failed");
    this.retcode = body.retcode ?? null;
    this.body = body;
  }
}

/** @returns {string} */
export function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

export class Api {
  /** @param {() => string} token */
  constructor(token) {
    this.token = token;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {{query?: Record<string, any>, body?: any, trade?: boolean}} [options]
   * @returns {Promise<any>}
   */
  async request(method, path, options = {}) {
    const url = new URL(path, location.origin);
    for (const [k, v] of Object.entries(options.query || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
    }
    /** @type {Record<string, string>} */
    const headers = { Authorization: `Bearer ${this.token()}` };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.trade) headers["Idempotency-Key"] = newKey();
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      let response;
      try {
        response = await fetch(url, {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
        });
      } catch (error) {
        if (attempt >= 4) throw new ApiError(0, { code: "NETWORK", detail: String(error) });
        await sleep(250 * 2 ** attempt);
        continue;
      }
      const body = await response.json().catch(() => ({}));
      if (response.ok) return body;
      const settling = ["IDEMPOTENCY_IN_PROGRESS", "OUTCOME_UNKNOWN"].includes(body.code);
      const transient = [503, 504].includes(response.status) && body.retryable !== false;
      const again = options.trade
        ? !body.replayed && (settling ? Date.now() - started < 120_000 : transient && attempt < 4)
        : transient && body.code !== "OUTCOME_UNKNOWN" && attempt < 4;
      if (!again) throw new ApiError(response.status, body);
      const hint = Number(response.headers.get("Retry-After"));
      await sleep(Number.isFinite(hint) && hint > 0 ? Math.min(hint, 30) * 1000 : 250 * 2 ** attempt);
    }
  }

  get(path, query) {
    return this.request("GET", path, { query });
  }
}
