"""Money that moves without a trade request: balance operations and the stop-out.

Balance operations (deposit, withdrawal, credit) are deals of type ``DEAL_TYPE_BALANCE`` or
``DEAL_TYPE_CREDIT`` as a real server writes them: ``order=0``, ``entry=IN``, ``position_id=0``,
``volume=0``, ``price=0``, ``symbol=''`` and the amount in ``profit`` (negative for a
withdrawal). A balance deal moves the balance, a credit deal the credit.

Stop-out: when an account with open positions has a margin level (equity / margin, in percent)
below its ``margin_so_so``, the server closes its most losing position at the market with an
order and a deal of reason ``SO`` (comment ``[so <level>%]``), and again while the level stays
below with positions left. The simulator checks this on every pass of ``Broker.process`` at the
quotes of that moment (the ticks between two passes are not walked for it, unlike SL/TP).
"""

from __future__ import annotations

from collections.abc import Callable

from simulator import constants as c
from simulator.broker_exec import Ledger
from simulator.broker_money import Pricing
from simulator.broker_state import AccountState, Deal, Position
from simulator.specs import SymbolSpec

KINDS = {"balance": c.DEAL_TYPE_BALANCE, "credit": c.DEAL_TYPE_CREDIT}


def balance_operation(
    state: AccountState,
    pricing: Pricing,
    *,
    kind: str,
    amount: float,
    comment: str,
    ticket: int,
    now_ms: int,
) -> Deal:
    """Book ``amount`` (account currency; < 0 takes money out) as a balance or credit deal.

    ValueError: an unknown kind, a zero amount, a withdrawal beyond the free margin, or a
    credit taken below zero (the state is then unchanged)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}")
    spec = state.spec
    amount = round(float(amount), spec.currency_digits)
    if amount == 0:
        raise ValueError("amount must not be 0")
    if amount < 0:
        if kind == "credit" and spec.credit + amount < -1e-9:
            raise ValueError("the credit cannot go below 0")
        if -amount > pricing.figures(state)["margin_free"] + 1e-9:
            raise ValueError("not enough free margin for this withdrawal")
    if kind == "credit":
        spec.credit = round(spec.credit + amount, spec.currency_digits)
    else:
        spec.balance = round(spec.balance + amount, spec.currency_digits)
    deal = money_deal(ticket, now_ms, KINDS[kind], amount, comment)
    state.deals.append(deal)
    return deal


def money_deal(ticket: int, time_ms: int, kind: int, amount: float, comment: str) -> Deal:
    """A balance or credit deal as a broker writes one: no order, position, volume or symbol;
    the amount in ``profit``."""
    return Deal(
        ticket=ticket,
        order=0,
        time_ms=time_ms,
        type=kind,
        entry=c.DEAL_ENTRY_IN,
        magic=0,
        position_id=0,
        reason=c.DEAL_REASON_CLIENT,
        volume=0.0,
        price=0.0,
        profit=amount,
        symbol="",
        comment=comment,
    )


def below_stop_out(pricing: Pricing, state: AccountState) -> float | None:
    """The margin level when it is below the account's stop-out level, else None."""
    if not state.positions:
        return None
    money = pricing.figures(state)
    if money["margin"] <= 0:
        return None
    level = float(money["equity"]) / float(money["margin"]) * 100.0
    return level if level < state.spec.margin_so_so else None


def stop_out(
    state: AccountState,
    pricing: Pricing,
    symbols: Callable[[str], SymbolSpec | None],
    new_ticket: Callable[[], int],
    now_ms: int,
) -> int:
    """Close the most losing positions, one by one, while the margin level is below the
    stop-out level; the number closed."""
    closed = 0
    while (level := below_stop_out(pricing, state)) is not None:
        currency, digits = state.spec.currency, state.spec.currency_digits
        worst = min(
            state.positions.values(),
            key=lambda p: (pricing.position_profit(p, currency, digits), p.ticket),
        )
        spec = symbols(worst.symbol)
        price = pricing.close_price(worst)
        if spec is None or price <= 0:
            return closed  # no quote to close at: the server waits for one
        _close(state, pricing, new_ticket, now_ms, spec, worst, price, f"[so {level:.2f}%]")
        closed += 1
    return closed


def _close(
    state: AccountState,
    pricing: Pricing,
    new_ticket: Callable[[], int],
    now_ms: int,
    spec: SymbolSpec,
    position: Position,
    price: float,
    comment: str,
) -> None:
    ledger = Ledger(state, pricing, new_ticket, now_ms)
    ledger.close_by_server(spec, position, price, c.ORDER_REASON_SO, comment)
