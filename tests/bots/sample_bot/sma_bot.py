"""A small trading bot, written against the real MetaTrader5 package (nothing simulator-specific).

Each ``step()`` reads the last closed M1 bars of one symbol: above their average it holds one
long position, below it it holds none. Requotes are retried a few times; without quotes (the
broker link is down) it does nothing and says so.
"""

import MetaTrader5 as mt5

SYMBOL = "EURUSD"
VOLUME = 0.1
BARS = 20
MAGIC = 424242
RETRIES = 3


def connect():
    if not mt5.initialize():  # the terminal's saved account
        raise RuntimeError(f"initialize() failed: {mt5.last_error()}")


def average_close():
    rates = mt5.copy_rates_from_pos(SYMBOL, mt5.TIMEFRAME_M1, 1, BARS)
    return float(rates["close"].mean())


def my_position():
    positions = mt5.positions_get(symbol=SYMBOL) or ()
    return next((p for p in positions if p.magic == MAGIC), None)


def send(order_type, position=None):
    """A market order, retried on requotes; the final OrderSendResult."""
    for _ in range(RETRIES):
        tick = mt5.symbol_info_tick(SYMBOL)
        buy = order_type == mt5.ORDER_TYPE_BUY
        request = {
            "action": mt5.TRADE_ACTION_DEAL,
            "symbol": SYMBOL,
            "volume": VOLUME,
            "type": order_type,
            "price": tick.ask if buy else tick.bid,
            "deviation": 20,
            "magic": MAGIC,
            "comment": "sma bot",
            "type_time": mt5.ORDER_TIME_GTC,
            "type_filling": mt5.ORDER_FILLING_RETURN,
        }
        if position is not None:
            request["position"] = position.ticket
        result = mt5.order_send(request)
        if result.retcode != mt5.TRADE_RETCODE_REQUOTE:
            return result
    return result


def step():
    """One decision: 'buy', 'close', 'hold', 'no quotes' or 'failed <retcode>'."""
    if mt5.symbol_info_tick(SYMBOL) is None:
        return "no quotes"
    price = mt5.symbol_info_tick(SYMBOL).bid
    position = my_position()
    if price > average_close() and position is None:
        result = send(mt5.ORDER_TYPE_BUY)
        return "buy" if result.retcode == mt5.TRADE_RETCODE_DONE else f"failed {result.retcode}"
    if price < average_close() and position is not None:
        result = send(mt5.ORDER_TYPE_SELL, position)
        return "close" if result.retcode == mt5.TRADE_RETCODE_DONE else f"failed {result.retcode}"
    return "hold"
