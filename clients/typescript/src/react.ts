// React hooks: useMT5API (what seed 003's hand-written hook does, typed, with the client's
// idempotency and retries) and live hooks on the stream (positions and orders; quotes).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { TokenProvider } from "./auth.js";
import { MT5Client, type Schemas, type Timeframe } from "./client.js";
import { ApiError } from "./errors.js";
import type { MT5Stream, QuoteMessage, StreamMessage, StreamState } from "./stream.js";

export interface MT5Options {
  baseUrl: string;
  auth: TokenProvider;
}

/**
 * One client per baseUrl for the component's life. `auth` may be written inline
 * (`auth: staticToken(token)` is a new object on every render): the client asks the latest
 * provider through a stable one, so neither the client nor its stream is rebuilt per render.
 */
export function useMT5Client(options: MT5Options): MT5Client {
  const latest = useRef(options.auth);
  latest.current = options.auth;
  const auth = useMemo<TokenProvider>(
    () => ({
      headers: () => latest.current.headers(),
      token: () => latest.current.token(),
      renew: () => latest.current.renew(),
    }),
    [],
  );
  return useMemo(() => new MT5Client({ baseUrl: options.baseUrl, auth }), [options.baseUrl, auth]);
}

export function useMT5API(options: MT5Options) {
  const client = useMT5Client(options);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [errorCode, setErrorCode] = useState<string | null>(null);

  const call = useCallback(async <T,>(work: () => Promise<T>): Promise<T> => {
    setLoading(true);
    setError(null);
    setErrorCode(null);
    try {
      return await work();
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : err instanceof Error ? err.message : "Unknown error");
      setErrorCode(err instanceof ApiError ? err.code : null);
      throw err;
    } finally {
      setLoading(false);
    }
  }, []);

  // Stable functions (safe in effect dependencies): they change only with the client.
  const methods = useMemo(
    () => ({
      getAccountInfo: (accountId?: string) => call(() => client.accountInfo(accountId)),
      getMarketData: (symbol: string, timeframe: Timeframe = "H1", bars = 100) =>
        call(() => client.marketData(symbol, timeframe, bars)),
      getMarketDataRange: (symbol: string, timeframe: Timeframe, startDate: Date, endDate: Date) =>
        call(() => client.marketDataRange(symbol, timeframe, startDate, endDate)),
      placeTrade: (symbol: string, orderType: "buy" | "sell", volume: number, stopLoss?: number, takeProfit?: number) =>
        call(() => client.placeTrade({ symbol, order_type: orderType, volume, stop_loss: stopLoss, take_profit: takeProfit })),
      getPositions: () => call(() => client.positions()),
      closePosition: (ticket: number) => call(() => client.closePosition(ticket)),
      getSymbols: () => call(() => client.symbols()),
    }),
    [client, call],
  );
  return { client, loading, error, errorCode, ...methods };
}

/** One stream per client (opened on mount, closed on unmount; pass a client from useMT5Client
 * or useMT5API, which stays the same across renders). */
export function useMT5Stream(client: MT5Client): { stream: MT5Stream; state: StreamState } {
  const stream = useMemo(() => client.stream(), [client]);
  const [state, setState] = useState<StreamState>(stream.state);
  useEffect(() => {
    const stop = stream.onState(setState);
    stream.connect().catch(() => undefined);
    return () => {
      stop();
      stream.close();
    };
  }, [stream]);
  return { stream, state };
}

/** Positions and pending orders of one account, live: the snapshot, then every event. */
export function useLivePositions(stream: MT5Stream, accountId?: string) {
  const [positions, setPositions] = useState<Map<number, Schemas["Position"]>>(new Map());
  const [orders, setOrders] = useState<Map<number, Schemas["Order"]>>(new Map());
  const [seq, setSeq] = useState<number | null>(null);
  const account = useRef<string | undefined>(accountId);
  useEffect(() => {
    const id = `live-${accountId ?? "default"}`;
    const stop = stream.on((m: StreamMessage) => {
      if (m.type === "snapshot" && m.id === id) {
        account.current = m.account_id;
        if (m.positions) setPositions(new Map(m.positions.map((p) => [p.ticket, p])));
        if (m.orders) setOrders(new Map(m.orders.map((o) => [o.ticket, o])));
        setSeq(m.seq);
      } else if (m.type === "event" && m.account_id === account.current) {
        setSeq(m.seq);
        const ticket = m.data.ticket;
        if (ticket === undefined) return;
        if (m.channel === "positions") {
          setPositions((old) => {
            const next = new Map(old);
            if (m.data.position && !/closed|_hit|stopped_out/.test(m.event)) next.set(ticket, m.data.position);
            else next.delete(ticket);
            return next;
          });
        } else if (m.channel === "orders") {
          setOrders((old) => {
            const next = new Map(old);
            if (m.data.order && /placed|modified|partially_filled/.test(m.event)) next.set(ticket, m.data.order);
            else next.delete(ticket);
            return next;
          });
        }
      }
    });
    stream.subscribe({ id, channel: ["positions", "orders", "deals"], account_id: accountId });
    return () => {
      stop();
      stream.unsubscribe(id);
    };
  }, [stream, accountId]);
  return { positions: [...positions.values()], orders: [...orders.values()], seq };
}

/** The latest quote of each symbol, live (conflated by the server). */
export function useLiveQuotes(stream: MT5Stream, symbols: string[]): Record<string, QuoteMessage> {
  const [quotes, setQuotes] = useState<Record<string, QuoteMessage>>({});
  const key = symbols.join(",");
  useEffect(() => {
    const id = `quotes-${key}`;
    const stop = stream.on((m) => {
      if (m.type === "quote" && symbols.includes(m.symbol)) setQuotes((old) => ({ ...old, [m.symbol]: m }));
    });
    stream.subscribe({ id, channel: "quotes", symbols });
    return () => {
      stop();
      stream.unsubscribe(id);
    };
  }, [stream, key]);
  return quotes;
}
