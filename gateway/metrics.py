"""Prometheus metrics at ``/metrics`` (not in the OpenAPI schema).

- ``gateway_requests_total{method,route,status}`` and ``gateway_request_seconds{method,route}``:
  labelled by the route *template* (``/api/v1/accounts/{account_id}``), never the raw path, so
  label values stay bounded; unmatched paths count as ``unmatched``.
- ``gateway_mt5_call_seconds{function}``: every terminal round trip by MetaTrader5 function
  (names come from the terminal port and its allow-list: a bounded set).
- ``gateway_pool_*``: queue depth, busy/healthy terminals, switches, served and rejected
  requests, and per terminal healthy/busy/switches, read from the pool snapshot at scrape time.
- ``gateway_jwt_failures_total{reason}``: refused tokens by reason (a fixed vocabulary).

Each app has its own registry (tests start several apps in one process).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.logs import note, route_template
from gateway.terminal.pool import TerminalPool

MT5_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_FUNCTION = re.compile(r"^[a-z_]{1,40}$")
_REASONS = {
    "Not authenticated": "missing",
    "Malformed token": "malformed",
    "HS256 tokens are not accepted": "hs256_refused",
    "Unsupported token algorithm": "bad_algorithm",
    "Token has no usable key id": "no_kid",
    "Token algorithm does not match its key": "alg_mismatch",
    "Token has expired": "expired",
    "Token is not valid yet": "not_yet_valid",
    "Token audience is not accepted": "bad_audience",
    "Token issuer is not accepted": "bad_issuer",
    "Token role is not 'authenticated'": "bad_role",
    "Anonymous users are not allowed": "anonymous",
    "Token subject is invalid": "bad_subject",
}


class Metrics:
    """The gateway's metrics in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gateway_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_request_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.mt5 = Histogram(
            "gateway_mt5_call_seconds",
            "MT5 terminal round trips by function",
            ["function"],
            buckets=MT5_BUCKETS,
            registry=self.registry,
        )
        self.jwt_failures = Counter(
            "gateway_jwt_failures",
            "Refused bearer tokens by reason",
            ["reason"],
            registry=self.registry,
        )
        self._pool: _PoolCollector | None = None

    def watch_pool(self, pool: TerminalPool) -> None:
        if self._pool is None:
            self._pool = _PoolCollector()
            self.registry.register(self._pool)
        self._pool.pool = pool

    def jwt_failure(self, message: str) -> None:
        reason = _REASONS.get(message)
        if reason is None:
            reason = "missing_claim" if message.startswith("Token is missing") else "other"
        self.jwt_failures.labels(reason).inc()

    def mt5_call(self, function: str, seconds: float) -> None:
        self.mt5.labels(function if _FUNCTION.match(function) else "other").observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _PoolCollector(Collector):
    pool: TerminalPool | None = None

    def collect(self) -> Iterator[Metric]:
        if self.pool is None:
            return
        snap = self.pool.snapshot()
        yield GaugeMetricFamily("gateway_pool_queue_depth", "Requests waiting", snap.queued)
        yield GaugeMetricFamily("gateway_pool_busy_terminals", "Terminals in use", snap.busy)
        yield GaugeMetricFamily("gateway_pool_healthy_terminals", "In rotation", snap.healthy)
        yield CounterMetricFamily("gateway_pool_switches", "Account logins", snap.switches)
        yield CounterMetricFamily("gateway_pool_served", "Sessions served", snap.served)
        yield CounterMetricFamily("gateway_pool_rejected", "503s (busy)", snap.rejected)
        healthy = GaugeMetricFamily(
            "gateway_pool_terminal_healthy", "1 if in rotation", labels=["terminal"]
        )
        switches = CounterMetricFamily(
            "gateway_pool_terminal_switches", "Logins per terminal", labels=["terminal"]
        )
        for t in snap.terminals:
            healthy.add_metric([t.name], 1.0 if t.healthy else 0.0)
            switches.add_metric([t.name], t.switches)
        yield healthy
        yield switches


class MeteredTerminal:
    """A terminal port that times every round trip into ``gateway_mt5_call_seconds``."""

    def __init__(self, terminal: Any, metrics: Metrics) -> None:
        self._terminal = terminal
        self._metrics = metrics
        self.name: str = terminal.name

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self._terminal, attr)
        if attr.startswith("_") or attr == "close" or not callable(target):
            return target

        async def timed(*args: Any, **kwargs: Any) -> Any:
            function = str(args[0]) if attr == "call" and args else attr
            note(terminal=self.name)  # the request being served (if any) names its terminal
            started = time.perf_counter()
            try:
                return await target(*args, **kwargs)
            finally:
                self._metrics.mt5_call(function, time.perf_counter() - started)

        setattr(self, attr, timed)  # built once: later look-ups find it without __getattr__
        return timed


class MetricsMiddleware:
    """Counts and times every HTTP request (plain ASGI: no per-request task or body copy).

    The router records the matched route in the shared ``scope``, so the template is read
    after the app has run."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            template = route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)


def install_metrics(app: FastAPI, metrics: Metrics) -> None:
    """Count every request and serve ``/metrics``."""
    app.state.metrics = metrics

    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    async def serve() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
