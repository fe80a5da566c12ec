"""The scope table and the account resolvers it names (unit level; the HTTP behaviour is in
test_api_keys.py)."""

from __future__ import annotations

import importlib

import pytest

from gateway.keys.scopes import ACCOUNT_RESOLVERS, ADMIN, READ, TRADE, required_scope


@pytest.mark.parametrize("name", sorted(ACCOUNT_RESOLVERS))
def test_every_account_resolver_named_exists(name: str) -> None:
    module, _, attribute = name.rpartition(".")
    assert callable(getattr(importlib.import_module(module), attribute))


@pytest.mark.parametrize(
    ("method", "template", "scope"),
    [
        ("GET", "/api/v1/positions", READ),
        ("HEAD", "/api/v1/balance", READ),
        ("POST", "/api/v1/trades/check", READ),
        ("POST", "/api/v1/calculate/margin", READ),
        ("POST", "/api/v1/trades", TRADE),
        ("DELETE", "/api/v1/positions/{ticket}", TRADE),
        ("PUT", "/api/v1/accounts/{account_id}", TRADE),
        ("POST", "/api/v1/webhooks", TRADE),
        ("GET", "/api/v1/admin/pool", ADMIN),
        ("DELETE", "/api/v1/admin/login-throttle", ADMIN),
        ("GET", "/api/v1/keys", None),
        ("POST", "/api/v1/keys", None),
        ("DELETE", "/api/v1/keys/{key_id}", None),
    ],
)
def test_required_scope(method: str, template: str, scope: str | None) -> None:
    assert required_scope(method, template) == scope
