// Typed errors: every gateway error is JSON {detail, code} (plus retcode, retryable,
// request_id... where they apply). ApiError carries them; `code` is a string union of the codes
// this client knows (a newer gateway may send others: they still arrive as ApiError).

/** Codes of MT5 trade return codes (the gateway's retcode table) and of refusals around a send. */
export const TRADE_CODES = [
  "REQUOTE", "PRICE_CHANGED", "NO_QUOTES", "MARKET_CLOSED", "ORDER_CHANGED", "LOCKED",
  "FROZEN", "POSITION_CLOSED", "CLOSE_ORDER_EXISTS", "FIFO_CLOSE", "NO_CHANGES",
  "INVALID_REQUEST", "INVALID_VOLUME", "INVALID_PRICE", "INVALID_STOPS", "NO_MONEY",
  "INVALID_EXPIRATION", "INVALID_FILL", "LIMIT_ORDERS", "LIMIT_VOLUME", "INVALID_ORDER",
  "INVALID_CLOSE_VOLUME", "LIMIT_POSITIONS", "LONG_ONLY", "SHORT_ONLY", "CLOSE_ONLY",
  "HEDGE_PROHIBITED", "TRADE_DISABLED", "ALGO_DISABLED_BY_SERVER",
  "ALGO_DISABLED_BY_TERMINAL", "ONLY_REAL", "REJECTED", "CANCELED", "MT5_TRADE_ERROR",
  "ACTIVATION_REJECTED", "MT5_REJECTED", "BROKER_TIMEOUT", "TOO_MANY_REQUESTS",
  "NO_BROKER_CONNECTION", "NOT_EXECUTED", "OUTCOME_UNKNOWN",
  "TRADE_ERROR", "TERMINAL_API_TRADING_DISABLED", "TERMINAL_REFUSED",
] as const;

/** The gateway's other codes (validation, auth and API keys, accounts, the pool, webhooks...). */
export const GATEWAY_CODES = [
  "VALIDATION_ERROR", "NOT_FOUND", "METHOD_NOT_ALLOWED", "SYMBOL_NOT_FOUND", "NO_DATA",
  "UNAUTHORIZED", "AUTH_UNAVAILABLE", "TERMINAL_UNAVAILABLE", "TERMINAL_TIMEOUT", "MT5_ERROR",
  "ACCOUNT_NOT_FOUND", "NO_ACCOUNT", "ACCOUNT_ERROR", "ACCOUNT_EXISTS", "FORBIDDEN",
  "LOGIN_THROTTLED", "DATABASE_UNAVAILABLE", "POOL_BUSY", "USER_BUSY", "RISK_LIMIT",
  "TRADE_RULE", "INVESTOR_READ_ONLY", "POSITION_NOT_FOUND", "ORDER_NOT_FOUND",
  "TRADE_REQUEST_NOT_FOUND", "IDEMPOTENCY_IN_PROGRESS", "IDEMPOTENCY_KEY_REUSED",
  "NO_TERMINAL_FOR_SERVER", "ACCOUNT_LOGIN_FAILED",
  "SESSION_REVOKED", "API_KEY_REVOKED", "API_KEY_EXPIRED", "IP_REFUSED", "SCOPE",
  "KEY_NOT_FOUND", "KEY_LIMIT", "LOGIN_SESSIONS_DISABLED", "NOT_A_SESSION",
  "MT5_AUTH_FAILED", "UNKNOWN_SERVER", "MT5_LOGIN_FAILED", "PASSWORD_REQUIRED",
  "CREDENTIALS_UNREADABLE", "EVENTS_NOT_RETAINED", "WEBHOOK_NOT_FOUND", "WEBHOOK_LIMIT",
  "WEBHOOK_TARGET_REFUSED", "BROADCAST_NOT_FOUND", "UNSUPPORTED_SWAP_MODE", "INTERNAL",
  "DATABASE_ERROR", "FORWARDED",
] as const;

export type TradeCode = (typeof TRADE_CODES)[number];
export type GatewayCode = (typeof GATEWAY_CODES)[number];

export type ErrorCode = TradeCode | GatewayCode | "NETWORK" | (string & {});

export interface ErrorBody {
  detail?: string;
  code?: string;
  retcode?: number | null;
  retryable?: boolean;
  replayed?: boolean;
  request_id?: string;
  [key: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail: string;
  readonly retcode: number | null;
  /** The gateway's word: the same order may succeed if sent again (as a new call). */
  readonly retryable: boolean;
  readonly requestId: string | undefined;
  /** The Idempotency-Key every attempt of this trade call carried. */
  readonly idempotencyKey: string | undefined;
  readonly body: ErrorBody;

  constructor(status: number, body: ErrorBody, idempotencyKey?: string) {
    const code = body.code || `HTTP_${status}`;
    super(`${status} ${code}: ${body.detail ?? "request failed"}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = body.detail ?? "request failed";
    this.retcode = typeof body.retcode === "number" ? body.retcode : null;
    this.retryable = body.retryable === true;
    this.requestId = body.request_id;
    this.idempotencyKey = idempotencyKey;
    this.body = body;
  }

  /** A refusal by MT5 of the order itself (it has a trade return code). */
  get isTradeRejection(): boolean {
    return this.retcode !== null;
  }
}

export function isApiError(error: unknown, code?: ErrorCode): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code);
}
