// @ts-check
// The stream for the console: auth as the first message, subscriptions remembered and sent
// again after a reconnect, event subscriptions resumed with "after" = the last seq seen.

export class Live {
  /**
   * @param {() => string} token
   * @param {(message: any) => void} onMessage
   * @param {(state: string) => void} onState
   */
  constructor(token, onMessage, onState) {
    this.token = token;
    this.onMessage = onMessage;
    this.onState = onState;
    /** @type {Map<string, any>} */
    this.subscriptions = new Map();
    /** @type {Map<string, number>} */
    this.lastSeq = new Map();
    /** @type {WebSocket | null} */
    this.ws = null;
    this.closed = false;
    this.authed = false;
    this.failures = 0;
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/stream`);
    this.ws = ws;
    this.authed = false;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ type: "auth", token: this.token() }));
    });
    // A frame holds one message or an array of them (several that waited), in order.
    ws.addEventListener("message", (event) => {
      for (const message of [].concat(JSON.parse(String(event.data)))) this.receive(message);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws || this.closed) return;
      if (event.code === 4001) {
        this.onState("Signed out by the stream (token refused or expired): paste a new token");
        return;
      }
      this.failures += 1;
      this.onState(`Stream disconnected (${event.code}); reconnecting`);
      setTimeout(() => this.open(), Math.min(10_000, 250 * 2 ** this.failures));
    });
  }

  close() {
    this.closed = true;
    this.ws?.close();
  }

  /** @param {any} message */
  receive(message) {
    switch (message.type) {
      case "authenticated":
        if (!this.authed) {
          this.authed = true;
          this.failures = 0;
          this.onState("Live");
          for (const sub of this.subscriptions.values()) this.send(this.withCursor(sub));
        }
        return;
      case "ping":
      case "pong":
        return;
      case "auth_expiring":
        this.onState(`Token expires in ${message.in_s} s: paste a new one and sign in again`);
        return;
      case "snapshot":
        if (message.account_id) this.lastSeq.set(message.account_id, message.seq);
        break;
      case "event": {
        const last = this.lastSeq.get(message.account_id) ?? -1;
        if (message.seq <= last) return;
        this.lastSeq.set(message.account_id, message.seq);
        break;
      }
    }
    this.onMessage(message);
  }

  /** @param {any} sub */
  withCursor(sub) {
    const last = sub.account_id ? this.lastSeq.get(sub.account_id) : undefined;
    const events = [].concat(sub.channel).some((c) => ["positions", "orders", "deals"].includes(c));
    return events && last !== undefined ? { ...sub, after: last } : sub;
  }

  /** @param {any} sub */
  subscribe(sub) {
    const message = { type: "subscribe", ...sub };
    this.subscriptions.set(String(sub.id), message);
    this.send(message);
  }

  /** @param {string} id */
  unsubscribe(id) {
    if (this.subscriptions.delete(id)) this.send({ type: "unsubscribe", id });
  }

  /** @param {any} message */
  send(message) {
    if (this.authed && this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }
}
