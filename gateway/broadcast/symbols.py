"""Which symbol an account's broker calls the broadcast's: an explicit map per server first,
then the symbol itself, then its one broker-suffixed variant (``EURUSD`` → ``EURUSD.m`` or
``EURUSDm``), found with one ``symbols_get`` of ``EURUSD*``."""

from __future__ import annotations

from gateway.errors import SymbolNotFound
from gateway.terminal.errors import MT5Error
from gateway.terminal.port import Record, TerminalPort

SUFFIX_ROOM = 6  # a suffix longer than this is another instrument (EURUSD_FUTURES_DEC …)


def suffixed(symbol: str, names: list[str]) -> str | None:
    """The one name that is ``symbol`` plus a short suffix; None if none or several fit."""
    fits = [
        n
        for n in names
        if n != symbol and n.startswith(symbol) and len(n) - len(symbol) <= SUFFIX_ROOM
    ]
    return fits[0] if len(fits) == 1 else None


async def resolve(
    terminal: TerminalPort, server: str, symbol: str, explicit: dict[str, dict[str, str]]
) -> str:
    mapped = explicit.get(server, {}).get(symbol)
    if mapped is not None:
        return mapped
    try:
        await terminal.symbol_info(symbol)
        return symbol
    except MT5Error:
        pass
    rows: list[Record] = await terminal.symbols_get(f"{symbol}*")
    found = suffixed(symbol, [str(r["name"]) for r in rows])
    if found is None:
        raise SymbolNotFound(symbol)
    return found
