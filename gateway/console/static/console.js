// @ts-check
// The operator console: sign in with a pasted token, pick an account, watch it live (figures,
// positions, orders, a bar chart and quotes from the stream), trade, and for admins see the
// terminals, the scheduler and the audit log. DOM built with textContent only (no HTML strings).
import { Api, ApiError } from "./api.js";
import { BarChart } from "./chart.js";
import { Live } from "./live.js";

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const CLOSING = ["position.closed", "position.sl_hit", "position.tp_hit", "position.stopped_out"];
const FINISHED = ["order.filled", "order.cancelled", "order.expired", "order.rejected"];

const state = {
  token: "",
  accountId: "",
  /** @type {Map<number, any>} */ positions: new Map(),
  /** @type {Map<number, any>} */ orders: new Map(),
  /** @type {Live | null} */ live: null,
  /** @type {BarChart | null} */ chart: null,
  chartKey: "",
};
const api = new Api(() => state.token);

function showError(/** @type {unknown} */ error) {
  const box = $("errors");
  box.replaceChildren();
  if (!error) return;
  $("last-result").textContent = ""; // an earlier success must not read as this action's outcome
  const line = document.createElement("p");
  if (error instanceof ApiError) {
    const code = document.createElement("strong");
    code.className = "code";
    code.textContent = error.code;
    line.append(code, `: ${error.detail}`);
    if (error.retcode !== null) line.append(` (retcode ${error.retcode})`);
  } else {
    line.textContent = String(error);
  }
  box.append(line);
}

async function guarded(/** @type {() => Promise<any>} */ work) {
  try {
    showError(null);
    return await work();
  } catch (error) {
    showError(error);
    return undefined;
  }
}

function cell(/** @type {any} */ value) {
  const td = document.createElement("td");
  td.textContent = value === null || value === undefined ? "–" : String(value);
  return td;
}

function button(/** @type {string} */ text, /** @type {string} */ label, /** @type {() => void} */ onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

function numberInput(/** @type {string} */ label, /** @type {any} */ value) {
  const input = document.createElement("input");
  input.type = "number";
  input.step = "any";
  input.min = "0";
  input.value = value ? String(value) : "";
  input.setAttribute("aria-label", label);
  return input;
}

// -- rendering ------------------------------------------------------------------------------------

function renderFigures(/** @type {any} */ f) {
  const money = (/** @type {any} */ v) => (typeof v === "number" ? v.toFixed(2) : "–");
  $("balance").textContent = money(f.balance);
  $("equity").textContent = money(f.equity);
  $("margin").textContent = money(f.margin);
  $("free-margin").textContent = money(f.free_margin);
  $("margin-level").textContent = f.margin ? `${money(f.margin_level)} %` : "–";
  $("profit").textContent = money(f.profit);
}

function renderPositions() {
  const rows = [...state.positions.values()].map((p) => {
    const tr = document.createElement("tr");
    tr.dataset.ticket = String(p.ticket);
    tr.dataset.sl = String(p.sl ?? 0);
    const sl = numberInput(`Stop loss of position ${p.ticket}`, p.sl);
    const tp = numberInput(`Take profit of position ${p.ticket}`, p.tp);
    const stops = document.createElement("td");
    stops.append(sl, tp);
    const actions = document.createElement("td");
    actions.append(
      button("Save SL/TP", `Save stop loss and take profit of position ${p.ticket}`, () =>
        trade("PATCH", `/api/v1/positions/${p.ticket}`, {
          stop_loss: Number(sl.value) || 0,
          take_profit: Number(tp.value) || 0,
        }),
      ),
      button("Close", `Close position ${p.ticket}`, () =>
        trade("DELETE", `/api/v1/positions/${p.ticket}`),
      ),
    );
    tr.append(
      cell(p.ticket), cell(p.symbol), cell(p.type), cell(p.volume), cell(p.price_open),
      cell(p.price_current), cell(p.profit), stops, actions,
    );
    return tr;
  });
  $("positions").replaceChildren(...rows);
}

function renderOrders() {
  const rows = [...state.orders.values()].map((o) => {
    const tr = document.createElement("tr");
    tr.dataset.ticket = String(o.ticket);
    const price = numberInput(`Price of order ${o.ticket}`, o.price_open);
    const priceCell = document.createElement("td");
    priceCell.append(price);
    const actions = document.createElement("td");
    actions.append(
      button("Modify", `Modify the price of order ${o.ticket}`, () =>
        trade("PATCH", `/api/v1/orders/${o.ticket}`, { price: Number(price.value) }),
      ),
      button("Cancel", `Cancel order ${o.ticket}`, () =>
        trade("DELETE", `/api/v1/orders/${o.ticket}`),
      ),
    );
    tr.append(cell(o.ticket), cell(o.symbol), cell(o.type), cell(o.volume_current), priceCell, actions);
    return tr;
  });
  $("orders").replaceChildren(...rows);
}

// -- the stream -----------------------------------------------------------------------------------

function onMessage(/** @type {any} */ m) {
  if (m.type === "error") return showError(new ApiError(0, m));
  if (m.type === "account" && m.account_id === state.accountId) return renderFigures(m);
  if (m.type === "status") {
    $("status").textContent = `${m.resident ? "resident" : m.state} (as of ${m.as_of ?? "–"})`;
    return;
  }
  if (m.type === "quote") {
    $("bid").textContent = String(m.bid);
    $("ask").textContent = String(m.ask);
    return;
  }
  if (m.type === "bar" && state.chart) return state.chart.update(m.bar);
  if (m.type === "snapshot") {
    if (m.positions) state.positions = new Map(m.positions.map((/** @type {any} */ p) => [p.ticket, p]));
    if (m.orders) state.orders = new Map(m.orders.map((/** @type {any} */ o) => [o.ticket, o]));
    renderPositions();
    renderOrders();
    return;
  }
  if (m.type !== "event" || m.account_id !== state.accountId) return;
  const d = m.data || {};
  if (m.channel === "positions") {
    if (CLOSING.includes(m.event) || !d.position) state.positions.delete(d.ticket);
    else state.positions.set(d.ticket, d.position);
    renderPositions();
  } else if (m.channel === "orders") {
    if (FINISHED.includes(m.event) || !d.order) state.orders.delete(d.ticket);
    else state.orders.set(d.ticket, d.order);
    renderOrders();
  }
}

function follow() {
  const live = state.live;
  if (!live) return;
  for (const id of ["account", "status", "trades"]) live.unsubscribe(id);
  const account_id = state.accountId || undefined;
  live.subscribe({ id: "account", channel: "account", account_id });
  live.subscribe({ id: "status", channel: "status", account_id });
  live.subscribe({ id: "trades", channel: ["positions", "orders", "deals"], account_id });
}

async function showChart() {
  const symbol = $("chart-symbol").value.trim().toUpperCase();
  const timeframe = $("chart-timeframe").value;
  const query = { timeframe, bars: 200, account_id: state.accountId };
  const history = await guarded(() => api.get(`/api/v1/market-data/${symbol}`, query));
  if (!history) return;
  state.chart ??= new BarChart($("chart"));
  state.chart.load(history.data);
  state.live?.unsubscribe("bars");
  state.live?.unsubscribe("quotes");
  const account_id = state.accountId || undefined;
  state.live?.subscribe({ id: "bars", channel: "bars", symbols: [symbol], timeframe, account_id });
  state.live?.subscribe({ id: "quotes", channel: "quotes", symbols: [symbol], account_id });
}

// -- actions --------------------------------------------------------------------------------------

async function trade(/** @type {string} */ method, /** @type {string} */ path, /** @type {any} */ body) {
  const query = { account_id: state.accountId };
  const result = await guarded(() => api.request(method, path, { query, body, trade: true }));
  if (result) {
    $("last-result").textContent =
      `${result.message ?? "done"}: ticket ${result.ticket ?? result.order}, retcode ${result.retcode}`;
  }
  return result;
}

async function placeOrder(/** @type {Event} */ event) {
  event.preventDefault();
  const side = $("side").value;
  const optional = (/** @type {string} */ id) => ($(id).value === "" ? undefined : Number($(id).value));
  const body = {
    symbol: $("symbol").value.trim().toUpperCase(),
    order_type: side,
    volume: Number($("volume").value),
    stop_loss: optional("sl"),
    take_profit: optional("tp"),
  };
  if (side === "buy" || side === "sell") return trade("POST", "/api/v1/trades", body);
  return trade("POST", "/api/v1/orders", { ...body, price: optional("price") });
}

async function signIn(/** @type {Event} */ event) {
  event.preventDefault();
  state.token = $("token").value.trim();
  const me = await guarded(() => api.get("/api/v1/me"));
  if (!me) return;
  $("who").textContent = `Signed in as ${me.email ?? me.id}${me.is_admin ? " (admin)" : ""}`;
  const list = await guarded(() => api.get("/api/v1/accounts"));
  const select = $("account");
  const accounts = list?.accounts ?? [];
  select.replaceChildren(
    ...(accounts.length ? accounts : [{ id: "", login: "default", server: "configured account" }]).map(
      (/** @type {any} */ a) => {
        const option = document.createElement("option");
        option.value = a.id;
        option.textContent = `${a.login} · ${a.server}${a.label ? ` · ${a.label}` : ""}`;
        option.selected = Boolean(a.is_default);
        return option;
      },
    ),
  );
  state.accountId = select.value;
  $("workspace").hidden = false;
  state.live?.close();
  state.live = new Live(() => state.token, onMessage, (s) => ($("connection").textContent = s));
  state.live.open();
  await loadAccount();
  await showChart();
  if (me.is_admin) {
    $("admin").hidden = false;
    await loadAdmin();
  }
}

async function loadAccount() {
  const info = await guarded(() => api.get("/api/v1/account/info", { account_id: state.accountId }));
  if (info) renderFigures(info);
  state.positions.clear();
  state.orders.clear();
  follow();
}

async function loadAdmin() {
  const pool = await guarded(() => api.get("/api/v1/admin/pool"));
  if (pool) {
    const links = new Map(pool.terminals.map((/** @type {any} */ t) => [t.name, t]));
    $("terminals").replaceChildren(
      ...pool.pool.terminals.map((/** @type {any} */ t) => {
        const link = /** @type {any} */ (links.get(t.name)) ?? {};
        const tr = document.createElement("tr");
        tr.append(
          cell(t.name), cell(t.server), cell(t.login), cell(t.healthy ? "yes" : "no"),
          cell(t.busy ? "yes" : "no"), cell(t.queue_depth), cell(t.switches), cell(t.served),
          cell(link.connected ? "yes" : "no"),
        );
        return tr;
      }),
    );
    const figures = Object.entries(pool.pool).filter(([, v]) => typeof v !== "object");
    $("scheduler").replaceChildren(
      ...figures.map(([k, v]) => {
        const div = document.createElement("div");
        const dt = document.createElement("dt");
        const dd = document.createElement("dd");
        dt.textContent = k.replaceAll("_", " ");
        dd.textContent = String(v);
        div.append(dt, dd);
        return div;
      }),
    );
  }
  const audit = await guarded(() => api.get("/api/v1/audit", { limit: 20, all_users: true }));
  if (audit) {
    $("audit").replaceChildren(
      ...audit.entries.map((/** @type {any} */ e) => {
        const tr = document.createElement("tr");
        tr.append(cell(e.at), cell(e.user_id), cell(e.action), cell(e.account_id), cell(e.retcode));
        return tr;
      }),
    );
  }
}

async function start() {
  $("sign-in-form").addEventListener("submit", signIn);
  $("trade-form").addEventListener("submit", placeOrder);
  $("chart-form").addEventListener("submit", (/** @type {Event} */ e) => {
    e.preventDefault();
    showChart();
  });
  $("account").addEventListener("change", () => {
    state.accountId = $("account").value;
    loadAccount();
    showChart();
  });
  $("admin-refresh").addEventListener("click", loadAdmin);
  const config = await fetch("/console/config.json").then((r) => r.json()).catch(() => ({}));
  if (config.dev_token) {
    $("token").value = config.dev_token;
    $("token-hint").textContent = "Development mode: a dev token is filled in for you.";
  }
  document.body.dataset.ready = "true";
}

start();
