"""The sample bot's own test suite: plain pytest against metatrader5-sim's fixture."""

import MetaTrader5 as mt5
import pytest
import sma_bot


@pytest.fixture
def bot(mt5sim):
    sma_bot.connect()
    return mt5sim


def test_buys_when_price_rises_above_the_average_and_closes_below(bot):
    level = sma_bot.average_close()
    bot.push_price("EURUSD", round(level + 0.0050, 5))
    assert sma_bot.step() == "buy"
    assert sma_bot.step() == "hold"  # one position at a time
    (position,) = mt5.positions_get(symbol="EURUSD")
    assert (position.magic, position.volume) == (sma_bot.MAGIC, 0.1)
    bot.advance(seconds=1)
    bot.push_price("EURUSD", round(level - 0.0050, 5))
    assert sma_bot.step() == "close"
    assert mt5.positions_get(symbol="EURUSD") == ()
    deals = mt5.history_deals_get(0, 2**31 - 1, group="EURUSD")
    assert [d.entry for d in deals] == [mt5.DEAL_ENTRY_IN, mt5.DEAL_ENTRY_OUT]


def test_retries_a_requote(bot):
    bot.push_price("EURUSD", round(sma_bot.average_close() + 0.0050, 5))
    bot.requote_next()
    assert sma_bot.step() == "buy"


def test_does_nothing_without_quotes(bot):
    bot.disconnect()
    assert sma_bot.step() == "no quotes"
    bot.reconnect()
    assert sma_bot.step() in ("buy", "hold")


def test_reports_a_refusal(bot):
    bot.push_price("EURUSD", round(sma_bot.average_close() + 0.0050, 5))
    bot.set_algo_trading(False)
    assert sma_bot.step() == "failed 10027"


@pytest.mark.mt5sim_scenario("incident.json")
def test_replays_the_incident(bot):
    assert mt5.account_info().login == 10003  # the scenario's account
    bot.push_price("EURUSD", round(sma_bot.average_close() + 0.0050, 5))
    bot.advance(minutes=1)  # the scheduled requote: retried
    assert sma_bot.step() == "buy"
    bot.advance(minutes=2)  # the link goes down for 30 seconds
    assert sma_bot.step() == "no quotes"
    bot.advance(seconds=30)
    assert sma_bot.step() in ("hold", "close")


def test_every_test_starts_from_a_fresh_world(bot):
    assert mt5.positions_total() == 0
    assert mt5.account_info().balance == 10_000.0
    assert bot.now.isoformat() == "2026-11-25T12:00:00+00:00"
