"""Every operation of the OpenAPI schema, fed generated (mostly wrong) input by schemathesis
against a gateway of its own, on SQLite and on PostgreSQL: no input gets a 5xx (the terminal
is healthy, so none is the terminal's), and every error answer is ``{"detail", "code"}``.

Besides schemathesis' positive and negative cases (NUL characters included: ``allow_x00``),
hooks swap one number or string of a generated body, query or path for a hostile value:
``Infinity``, ``-Infinity``, ``NaN``, ``1e308``, or text with NUL or another control
character. The gateway and its simulator are this module's alone, since the generated calls
trade, close and connect accounts."""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from helpers import HS256_SECRET, GatewayServer, JwksServer, claims, sign, store_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from server_process import start_terminal_server

from gateway.config import Settings
from gateway.main import create_app

_spec = importlib.util.spec_from_file_location(
    "store_fixtures", Path(__file__).resolve().parents[1] / "store" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
store_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(store_fixtures)
postgres_server = store_fixtures.postgres_server  # the throwaway cluster of tests/store

HOSTILE_NUMBERS = (math.inf, -math.inf, math.nan, 1e308, -1e308, 2**64)
HOSTILE_TEXT = ("\x00", "a\x00", "\x00" * 3, "tab\tnewline\n", "\x1b[31m", "\x7f")


def _serve(jwks: JwksServer, database_url: str | None = None) -> Iterator[GatewayServer]:
    store = store_settings()
    if database_url is not None:
        store["database_url"] = database_url
    with start_terminal_server() as sim:
        values: dict[str, Any] = {
            **store,
            "environment": "production",
            "supabase_url": jwks.supabase_url,
            "supabase_jwt_secret": HS256_SECRET,
            "terminals": f"t1={sim.host}:{sim.port}",
            "server_utc_offsets": "Sim-Demo=7200",
            "terminal_timeout_s": 10.0,
        }
        app = create_app(Settings(_env_file=None, **values))  # type: ignore[call-arg]
        with GatewayServer(app) as server:
            yield server


@pytest.fixture(scope="module")
def sqlite_gateway(jwks: JwksServer) -> Iterator[GatewayServer]:
    yield from _serve(jwks)


@pytest.fixture(scope="module")
def pg_gateway(
    jwks: JwksServer, postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayServer]:
    databases = store_fixtures.Databases(
        "postgresql", tmp_path_factory.mktemp("pg"), postgres_server
    )
    yield from _serve(jwks, databases.empty())


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Paths to the numbers and strings inside a JSON-like value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    elif isinstance(value, int | float | str) and not isinstance(value, bool):
        yield path, value


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replaced(copy[head], rest, new)
    return copy


def hostile(value: Any, names: list[str]) -> st.SearchStrategy[Any]:
    """``value`` itself, or a copy with one number or string swapped for a hostile one, or
    (an object) with one of the declared ``names`` set to a hostile value."""
    options: list[st.SearchStrategy[Any]] = [st.just(value)]
    spots = list(_leaves(value))
    if spots:

        def swap(spot: tuple[tuple[Any, ...], Any]) -> st.SearchStrategy[Any]:
            path, old = spot
            pool = HOSTILE_TEXT if isinstance(old, str) else HOSTILE_NUMBERS + HOSTILE_TEXT
            return st.sampled_from(pool).map(lambda new: _replaced(value, path, new))

        options.append(st.sampled_from(spots).flatmap(swap))
    if isinstance(value, dict) and names:
        pool = HOSTILE_NUMBERS + HOSTILE_TEXT
        options.append(
            st.tuples(st.sampled_from(names), st.sampled_from(pool)).map(
                lambda pair: {**value, pair[0]: pair[1]}
            )
        )
    return st.one_of(options)


def _body_names(context: Any) -> list[str]:
    return [
        name
        for body in context.operation.body
        for name in body.resolved_schema.get("properties", {})
    ]


def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    return hostile(body, _body_names(context))


def flatmap_query(context: Any, query: Any) -> st.SearchStrategy[Any]:
    return hostile(query, [parameter.name for parameter in context.operation.query])


def flatmap_path_parameters(context: Any, path_parameters: Any) -> st.SearchStrategy[Any]:
    return hostile(path_parameters, [])


def send(case: Any, headers: dict[str, str]) -> requests.Response:
    """Send the case, writing JSON bodies as Python's json does (``Infinity``, ``NaN``): the
    transport's own encoder refuses non-finite numbers, a client's may not."""
    kwargs = case.as_transport_kwargs(headers=headers)
    if "json" in kwargs:
        kwargs["data"] = json.dumps(kwargs.pop("json")).encode()
        kwargs["headers"] = {**(kwargs.get("headers") or {}), "Content-Type": "application/json"}
    return requests.request(**kwargs, timeout=30)


def _schema(gateway: GatewayServer) -> Any:
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    schema.config.generation.update(allow_x00=True)
    for hook in (flatmap_body, flatmap_query, flatmap_path_parameters):
        schema.hook(hook)
    return schema


@pytest.fixture(scope="module")
def sqlite_schema(sqlite_gateway: GatewayServer) -> Any:
    return _schema(sqlite_gateway)


@pytest.fixture(scope="module")
def pg_schema(pg_gateway: GatewayServer) -> Any:
    return _schema(pg_gateway)


FUZZ = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,  # the same inputs every run: a failure here reproduces
    suppress_health_check=list(HealthCheck),
)
# On PostgreSQL, the operations whose input reaches the store (the rest is covered on SQLite).
STORE_TAGS = [
    "accounts",
    "trading",
    "audit",
    "journal",
    "admin",
    "events",
    "webhooks",
    "broadcast",
    "keys",
]


@schemathesis.pytest.from_fixture("sqlite_schema").parametrize()
@FUZZ
def test_no_server_error_for_any_input(case: Any, jwks: JwksServer) -> None:
    check_case(case, jwks)


@pytest.mark.needs_binary("postgres")
@schemathesis.pytest.from_fixture("pg_schema").include(tag=STORE_TAGS).parametrize()
@FUZZ
def test_no_server_error_for_any_input_on_postgresql(case: Any, jwks: JwksServer) -> None:
    check_case(case, jwks)


def check_case(case: Any, jwks: JwksServer) -> None:
    token = sign(jwks.keys[0], claims(jwks.issuer))
    response = send(case, {"Authorization": f"Bearer {token}"})
    where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500, where
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("detail"), str | list), where
        assert isinstance(body.get("code"), str), where
