// The TypeScript client: openapi-fetch over the types openapi-typescript generated from the
// gateway's /openapi.json (schema.ts), with authentication, one Idempotency-Key per trade call
// reused by its retries, and the retry rules of retry.ts. `client.api` is the raw typed
// openapi-fetch client (`client.api.GET("/api/v1/positions", {...})`); the methods below are
// the everyday calls, answering the typed body or throwing ApiError.
import createClient, { type Client } from "openapi-fetch";
import type { TokenProvider } from "./auth.js";
import { ApiError, type ErrorBody } from "./errors.js";
import { Attempts, DEFAULT_RETRY, type Kind, type RetryPolicy } from "./retry.js";
import type { components, paths } from "./schema.js";
import { MT5Stream, type StreamOptions } from "./stream.js";

export type Schemas = components["schemas"];
export type Timeframe =
  | "M1" | "M2" | "M3" | "M4" | "M5" | "M6" | "M10" | "M12" | "M15" | "M20" | "M30"
  | "H1" | "H2" | "H3" | "H4" | "H6" | "H8" | "H12" | "D1" | "W1" | "MN1";

export interface ClientOptions {
  /** The gateway, e.g. https://trade.example.com */
  baseUrl: string;
  auth?: TokenProvider;
  retry?: Partial<RetryPolicy>;
  /** Abort one attempt after this long (it is then retried as a lost answer). */
  timeoutMs?: number;
  fetch?: (request: Request) => Promise<Response>;
}

export interface TradeOptions {
  accountId?: string;
  /** Your own key; by default a new one per call. */
  idempotencyKey?: string;
}

const TRADE_PATH = /^\/api\/v1\/(trades|orders|positions)(\/|$)/;

export function kindOf(method: string, path: string): Kind {
  if (method === "GET" || path === "/api/v1/trades/check") return "read";
  return TRADE_PATH.test(path) ? "trade" : "write";
}

export function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function connectFailed(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } } | null)?.cause;
  return cause?.code === "ECONNREFUSED" || cause?.code === "ENOTFOUND";
}

/** fetch with authentication, the Idempotency-Key and the retry rules. */
export function safeFetch(options: ClientOptions): (request: Request) => Promise<Response> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const send = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  return async (request: Request) => {
    const url = new URL(request.url);
    const kind = kindOf(request.method, url.pathname);
    const body = request.body ? await request.arrayBuffer() : undefined;
    const headers = new Headers(request.headers);
    if (kind === "trade" && !headers.get("Idempotency-Key")) {
      headers.set("Idempotency-Key", newIdempotencyKey());
    }
    const key = headers.get("Idempotency-Key") ?? undefined;
    const attempts = new Attempts(policy, kind);
    let renewed = false;
    for (;;) {
      for (const [name, value] of Object.entries((await options.auth?.headers()) ?? {})) {
        headers.set(name, value);
      }
      const init: RequestInit = { method: request.method, headers, body };
      if (options.timeoutMs) init.signal = AbortSignal.timeout(options.timeoutMs);
      let response: Response;
      try {
        response = await send(new Request(url, init));
      } catch (error) {
        const delay = attempts.afterNetworkError(connectFailed(error));
        if (delay === null) {
          throw new ApiError(0, { code: "NETWORK", detail: String(error) }, key);
        }
        await sleep(delay);
        continue;
      }
      if (response.status === 401 && options.auth && !renewed) {
        renewed = true;
        if ((await options.auth.renew()) !== null) continue;
      }
      if (response.ok) return response;
      const answer = (await response.clone().json().catch(() => ({}))) as Record<string, unknown>;
      const delay = attempts.afterResponse(response.status, answer, response.headers.get("Retry-After"));
      if (delay === null) return response;
      await sleep(delay);
    }
  };
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

function unwrap<T>(answer: Answer<T>, key?: string): T {
  if (answer.error !== undefined || !answer.response.ok || answer.data === undefined) {
    const body = (answer.error ?? {}) as ErrorBody;
    throw new ApiError(answer.response.status, body, key ?? answer.response.headers.get("Idempotency-Key") ?? undefined);
  }
  return answer.data;
}

export class MT5Client {
  /** The raw typed client (every path of the gateway's OpenAPI document). */
  readonly api: Client<paths>;

  constructor(readonly options: ClientOptions) {
    this.api = createClient<paths>({ baseUrl: options.baseUrl.replace(/\/$/, ""), fetch: safeFetch(options) });
  }

  /** A resuming live stream on the same gateway and credentials. */
  stream(options: Partial<StreamOptions> = {}): MT5Stream {
    if (!this.options.auth) throw new Error("the stream needs a token provider (auth)");
    return new MT5Stream({ baseUrl: this.options.baseUrl, auth: this.options.auth, ...options });
  }

  async me(): Promise<Schemas["User"]> {
    return unwrap(await this.api.GET("/api/v1/me"));
  }

  async accounts(): Promise<Schemas["AccountsResponse"]> {
    return unwrap(await this.api.GET("/api/v1/accounts"));
  }

  async accountInfo(accountId?: string): Promise<Schemas["AccountInfo"]> {
    return unwrap(await this.api.GET("/api/v1/account/info", { params: { query: { account_id: accountId } } }));
  }

  async snapshot(accountId?: string): Promise<Schemas["Snapshot"]> {
    return unwrap(await this.api.GET("/api/v1/snapshot", { params: { query: { account_id: accountId } } }));
  }

  async positions(accountId?: string): Promise<Schemas["PositionsResponse"]> {
    return unwrap(await this.api.GET("/api/v1/positions", { params: { query: { account_id: accountId } } }));
  }

  async orders(accountId?: string): Promise<Schemas["OrdersResponse"]> {
    return unwrap(await this.api.GET("/api/v1/orders", { params: { query: { account_id: accountId } } }));
  }

  async symbols(group?: string): Promise<Schemas["SymbolsResponse"]> {
    return unwrap(await this.api.GET("/api/v1/symbols", { params: { query: { group } } }));
  }

  async marketData(symbol: string, timeframe: Timeframe = "H1", bars = 100, accountId?: string): Promise<Schemas["MarketDataResponse"]> {
    const query = { timeframe, bars, account_id: accountId };
    return unwrap(await this.api.GET("/api/v1/market-data/{symbol}", { params: { path: { symbol }, query } }));
  }

  async marketDataRange(symbol: string, timeframe: Timeframe, start: Date, end: Date, accountId?: string): Promise<Schemas["RangeResponse"]> {
    const query = { timeframe, start_date: start.toISOString(), end_date: end.toISOString(), account_id: accountId };
    return unwrap(await this.api.GET("/api/v1/market-data/{symbol}/range", { params: { path: { symbol }, query } }));
  }

  async placeTrade(body: Schemas["TradeBody"], options: TradeOptions = {}): Promise<Schemas["TradeResult"]> {
    const key = options.idempotencyKey ?? newIdempotencyKey();
    const params = { query: { account_id: options.accountId }, header: { "Idempotency-Key": key } };
    return unwrap(await this.api.POST("/api/v1/trades", { params, body }), key);
  }

  async placeOrder(body: Schemas["PendingBody"], options: TradeOptions = {}): Promise<Schemas["TradeResult"]> {
    const key = options.idempotencyKey ?? newIdempotencyKey();
    const params = { query: { account_id: options.accountId }, header: { "Idempotency-Key": key } };
    return unwrap(await this.api.POST("/api/v1/orders", { params, body }), key);
  }

  async modifyPosition(ticket: number, body: Schemas["PositionStopsBody"], options: TradeOptions = {}): Promise<Schemas["TradeResult"]> {
    const key = options.idempotencyKey ?? newIdempotencyKey();
    const params = { path: { ticket }, query: { account_id: options.accountId }, header: { "Idempotency-Key": key } };
    return unwrap(await this.api.PATCH("/api/v1/positions/{ticket}", { params, body }), key);
  }

  async closePosition(ticket: number, options: TradeOptions & { volume?: number } = {}): Promise<Schemas["TradeResult"]> {
    const key = options.idempotencyKey ?? newIdempotencyKey();
    const query = { account_id: options.accountId, volume: options.volume };
    const params = { path: { ticket }, query, header: { "Idempotency-Key": key } };
    return unwrap(await this.api.DELETE("/api/v1/positions/{ticket}", { params }), key);
  }

  async modifyOrder(ticket: number, body: Schemas["OrderModifyBody"], options: TradeOptions = {}): Promise<Schemas["TradeResult"]> {
    const key = options.idempotencyKey ?? newIdempotencyKey();
    const params = { path: { ticket }, query: { account_id: options.accountId }, header: { "Idempotency-Key": key } };
    return unwrap(await this.api.PATCH("/api/v1/orders/{ticket}", { params, body }), key);
  }

  async cancelOrder(ticket: number, options: TradeOptions = {}): Promise<Schemas["TradeResult"]> {
    const key = options.idempotencyKey ?? newIdempotencyKey();
    const params = { path: { ticket }, query: { account_id: options.accountId }, header: { "Idempotency-Key": key } };
    return unwrap(await this.api.DELETE("/api/v1/orders/{ticket}", { params }), key);
  }

  async tradeRequest(requestId: string): Promise<Schemas["TradeRequestState"]> {
    return unwrap(await this.api.GET("/api/v1/trades/requests/{request_id}", { params: { path: { request_id: requestId } } }));
  }

  async historyOrders(accountId?: string): Promise<Schemas["OrdersResponse"]> {
    return unwrap(await this.api.GET("/api/v1/history/orders", { params: { query: { account_id: accountId } } }));
  }

  async events(accountId?: string, after = 0): Promise<Schemas["EventsPage"]> {
    return unwrap(await this.api.GET("/api/v1/events", { params: { query: { account_id: accountId, after } } }));
  }

  async audit(limit = 50): Promise<Schemas["AuditPage"]> {
    return unwrap(await this.api.GET("/api/v1/audit", { params: { query: { limit } } }));
  }

  async adminPool(): Promise<Schemas["AdminPool"]> {
    return unwrap(await this.api.GET("/api/v1/admin/pool"));
  }
}

export function createMT5Client(options: ClientOptions): MT5Client {
  return new MT5Client(options);
}
