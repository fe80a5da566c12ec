"""The retcode → HTTP table, row by row, through the real gateway (the terminal answers each
code once via ``fail_next_order_send``)."""

from __future__ import annotations

import pytest
from sim_control import SimControl
from trading_support import Api, ok

from gateway.trading import retcodes

ROWS = [rule for rule in retcodes.RULES if rule.retcode >= 10004]


@pytest.mark.parametrize("rule", ROWS, ids=[f"{r.retcode}-{r.name}" for r in ROWS])
def test_each_retcode_maps_to_its_http_answer(
    api: Api, control: SimControl, rule: retcodes.RetcodeRule
) -> None:
    control.fail_next_order_send(retcode=rule.retcode)
    response = api.trade("EURUSD", "buy", 0.1, filling="fok", filling_strict=True)
    body = ok(response, retcodes.http_status(rule.retcode))
    assert body["retcode"] == rule.retcode and body["retcode_name"] == rule.name
    if rule.retcode in retcodes.SUCCESS:
        assert body["success"] is True
    else:
        assert body["success"] is False and body["state"] == "rejected"
        assert body["code"] == rule.code and body["retryable"] is rule.retryable
        assert body["detail"].startswith(f"MT5 answered {rule.retcode}")
    assert api.history_orders() == []  # the forced answer executed nothing


def test_pending_order_success_is_201_and_market_is_200() -> None:
    assert retcodes.http_status(10009, placed_order=True) == 201
    assert retcodes.http_status(10009) == 200
    assert retcodes.http_status(10004) == 409 and retcodes.http_status(10019) == 422
    assert retcodes.http_status(10018) == 409 and retcodes.http_status(10016) == 422
    assert (
        retcodes.OUTCOME_UNKNOWN.status == 504
        and retcodes.OUTCOME_UNKNOWN.code == "OUTCOME_UNKNOWN"
    )
    assert retcodes.rule_for(12345).status == 502


def test_markdown_rendering_has_every_row() -> None:
    table = retcodes.markdown_table()
    for rule in retcodes.RULES:
        assert f"`{rule.name}`" in table and f"`{rule.code}`" in table
    assert "| — | `outcome_unknown` | 504 | `OUTCOME_UNKNOWN` |" in table
    assert "| 10009 | `done` | 200/201 |" in table
