// The live stream (/api/v1/stream), usable in browsers and Node: authenticates with the first
// message (never in the URL), remembers the subscriptions and, per account, the seq of the
// last event delivered; after a drop it reconnects with backoff, authenticates again and
// subscribes again with "after": that seq, so missed events arrive in order with no gap and
// no duplicate. On auth_expiring it sends a fresh token from the provider.
// Keep one event subscription per account (combine channels): events name the account only.
import type { TokenProvider } from "./auth.js";
import type { components } from "./schema.js";

type Position = components["schemas"]["Position"];
type Order = components["schemas"]["Order"];

export type Channel = "quotes" | "bars" | "account" | "status" | "positions" | "orders" | "deals";

export interface Subscription {
  id: string | number;
  channel: Channel | Channel[];
  account_id?: string;
  symbols?: string[];
  timeframe?: string;
}

export interface QuoteMessage {
  type: "quote"; server: string; symbol: string; bid: number; ask: number; last: number;
  volume: number; time: number; time_msc: number; time_basis: string; observed_ms: number;
}
export interface BarMessage {
  type: "bar"; server: string; symbol: string; timeframe: string; closed: boolean;
  bar: { time: number; open: number; high: number; low: number; close: number; tick_volume?: number };
}
export interface AccountMessage {
  type: "account"; account_id: string; login: number; currency: string; balance: number;
  equity: number; margin: number; free_margin: number; margin_level: number; profit: number;
  as_of: string; seq: number;
}
export interface StatusMessage {
  type: "status"; account_id: string; state: string; resident: boolean; terminal: string | null;
  broker_connected: boolean | null; as_of: string | null; poll_interval_s: number; seq: number;
}
export interface SnapshotMessage {
  type: "snapshot"; id: string | number; account_id: string; channels: Channel[]; seq: number;
  resync: boolean; as_of: string | null; positions?: Position[] | null; orders?: Order[] | null;
}
export interface EventMessage {
  type: "event"; channel: "positions" | "orders" | "deals"; event: string; account_id: string;
  seq: number; id: string; time: string; reconciled: boolean;
  cause: { by: string; request_id?: string; reason?: string } | null;
  data: { ticket?: number; position?: Position | null; order?: Order | null; [key: string]: unknown };
}
export interface ErrorMessage { type: "error"; id: string | number | null; code: string; detail: string }
export interface OtherMessage { type: "subscribed" | "unsubscribed" | "market_status"; [key: string]: unknown }

export type StreamMessage =
  | QuoteMessage | BarMessage | AccountMessage | StatusMessage | SnapshotMessage | EventMessage
  | ErrorMessage | OtherMessage;

export type StreamState = "connecting" | "live" | "reconnecting" | "closed" | "unauthorized";

export interface StreamOptions {
  baseUrl: string;
  auth: TokenProvider;
  /** A WebSocket class (browsers and Node 22 have one; on Node 20 pass `ws` or run with --experimental-websocket). */
  WebSocket?: typeof WebSocket;
  backoffMs?: number;
  maxBackoffMs?: number;
  idleTimeoutMs?: number;
}

const EVENT_CHANNELS = new Set(["positions", "orders", "deals"]);

export class MT5Stream {
  readonly lastSeq = new Map<string, number>();
  readonly subscriptions = new Map<string | number, Subscription>();
  reconnects = 0;
  renewals = 0;
  state: StreamState = "closed";
  private socket: WebSocket | null = null;
  private authed = false;
  private closing = false;
  private failures = 0;
  private readonly listeners = new Set<(message: StreamMessage) => void>();
  private readonly stateListeners = new Set<(state: StreamState) => void>();
  private opened: { resolve: () => void; reject: (error: Error) => void } | null = null;

  constructor(private readonly options: StreamOptions) {}

  get url(): string {
    return `${this.options.baseUrl.replace(/\/$/, "").replace(/^http/, "ws")}/api/v1/stream`;
  }

  /** Listen to every message handed over (returns the function that stops listening). */
  on(listener: (message: StreamMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onState(listener: (state: StreamState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Open and authenticate; resolves once the server said "authenticated". */
  connect(): Promise<void> {
    this.closing = false;
    return new Promise((resolve, reject) => {
      this.opened = { resolve, reject };
      this.open();
    });
  }

  close(): void {
    this.closing = true;
    if (this.idle) clearTimeout(this.idle);
    this.socket?.close(1000);
    this.setState("closed");
  }

  /** Drop the socket and resume on a new one (also what happens on any unexpected close). */
  reconnect(): void {
    this.socket?.close(4000, "client reconnect");
  }

  subscribe(subscription: Subscription): void {
    this.subscriptions.set(subscription.id, subscription);
    this.send(this.withCursor(subscription));
  }

  unsubscribe(id: string | number): void {
    if (this.subscriptions.delete(id)) this.send({ type: "unsubscribe", id });
  }

  private idle: ReturnType<typeof setTimeout> | null = null;

  /** A socket silent for idleTimeoutMs (the server pings every 20 s) is replaced. */
  private heard(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.reconnect(), this.options.idleTimeoutMs ?? 60_000);
  }

  private setState(state: StreamState): void {
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  private open(): void {
    const Socket = this.options.WebSocket ?? globalThis.WebSocket;
    const socket = new Socket(this.url);
    this.socket = socket;
    this.authed = false;
    this.setState(this.reconnects || this.failures ? "reconnecting" : "connecting");
    socket.onopen = async () => {
      this.heard();
      socket.send(JSON.stringify({ type: "auth", token: await this.options.auth.token() }));
    };
    socket.onmessage = (event: MessageEvent) => {
      this.heard();
      // A frame holds one message or an array of them (several that waited), in order.
      const parsed = JSON.parse(String(event.data)) as StreamMessage | StreamMessage[];
      for (const message of ([] as StreamMessage[]).concat(parsed)) this.receive(message);
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      const wasAuthed = this.authed;
      this.authed = false;
      if (this.closing) return;
      if (event.code === 4001 && !wasAuthed) {
        this.setState("unauthorized");
        this.opened?.reject(new Error(`stream refused the token: ${event.reason}`));
        this.opened = null;
        return;
      }
      this.failures += 1;
      const base = Math.min(this.options.maxBackoffMs ?? 10_000, (this.options.backoffMs ?? 250) * 2 ** (this.failures - 1));
      setTimeout(() => {
        if (!this.closing) this.open();
      }, base * (0.5 + Math.random() / 2));
    };
  }

  private receive(message: StreamMessage | { type: string }): void {
    switch (message.type) {
      case "authenticated":
        if (!this.authed) {
          this.authed = true;
          if (this.failures > 0 || this.state === "reconnecting") this.reconnects += 1;
          this.failures = 0;
          this.setState("live");
          for (const sub of this.subscriptions.values()) this.send(this.withCursor(sub));
          this.opened?.resolve();
          this.opened = null;
        } else {
          this.renewals += 1;
        }
        return;
      case "auth_expiring":
        void this.options.auth.renew().then((token) => {
          if (token) this.send({ type: "auth", token });
        });
        return;
      case "ping":
      case "pong":
        return;
    }
    const known = message as StreamMessage;
    if (known.type === "snapshot" || known.type === "subscribed") {
      // A subscription made without account_id learns its account from whichever reply
      // names it: a first subscription is answered by a snapshot only, a resume by subscribed.
      const account = known.account_id;
      const sub = this.subscriptions.get(known.id as string | number);
      if (typeof account === "string" && account) {
        if (sub && !sub.account_id) sub.account_id = account;
        if (known.type === "snapshot" && typeof known.seq === "number") this.lastSeq.set(account, known.seq);
      }
    } else if (known.type === "event") {
      if (known.seq <= (this.lastSeq.get(known.account_id) ?? -1)) return;
      this.lastSeq.set(known.account_id, known.seq);
    }
    for (const listener of this.listeners) listener(known);
  }

  private withCursor(sub: Subscription): Record<string, unknown> {
    const message: Record<string, unknown> = { type: "subscribe", ...sub };
    const channels = Array.isArray(sub.channel) ? sub.channel : [sub.channel];
    const seq = sub.account_id ? this.lastSeq.get(sub.account_id) : undefined;
    if (seq !== undefined && channels.some((c) => EVENT_CHANNELS.has(c))) message.after = seq;
    return message;
  }

  private send(message: Record<string, unknown>): void {
    if (this.authed && this.socket?.readyState === 1) this.socket.send(JSON.stringify(message));
  }
}
