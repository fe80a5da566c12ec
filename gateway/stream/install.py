"""Wiring of the stream, the event log and webhooks into the app.

``install_stream(app)`` is all ``create_app`` needs (see docs/stream.md, "Wiring"):

- it includes ``/api/v1/stream`` (WebSocket, no bearer dependency: it authenticates itself),
  and the REST routes ``/api/v1/events`` and ``/api/v1/webhooks`` like the other routers;
- it wraps the app's lifespan: after the gateway's own resources are up, it starts the hub (market
  pollers, account watchers, event pruning) and the webhook delivery worker, and adds
  ``stream_hub`` to the lifespan state; they stop before the gateway's resources close;
- it adds ``gateway_stream_*`` metrics to ``/metrics``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.deps import get_current_user
from gateway.errors import ERROR_RESPONSES
from gateway.stream.hub import Hub
from gateway.stream.router import events_router, stream_router
from gateway.stream.settings import StreamSettings
from gateway.webhooks.delivery import Deliveries
from gateway.webhooks.router import router as webhooks_router

API_PREFIX = "/api/v1"


@asynccontextmanager
async def stream_service(
    state: Mapping[str, Any], settings: StreamSettings
) -> AsyncIterator[dict[str, Any]]:
    """The hub and the webhook worker for the lifespan ``state`` of a running gateway."""
    replicas = state.get("replicas")
    deliveries = Deliveries(
        sessions=state["sessionmaker"],
        keyring=state["keyring"],
        gateway_settings=state["settings"],
        settings=settings,
        worker_id=replicas.replica_id if replicas is not None else None,  # in claimed_by
    )
    hub = Hub(
        pool=state["pool"],
        sessions=state["sessionmaker"],
        clocks=state["clocks"],
        settings=settings,
        bus=state.get("event_bus"),  # several replicas: events travel by NOTIFY (gateway/replicas)
        sinks=[deliveries.sink],
    )
    await hub.start()
    await deliveries.start(hub)
    if replicas is not None:  # watch for other replicas' clients what is resident here
        await replicas.follow(hub)
    try:
        yield {"stream_hub": hub, "webhook_deliveries": deliveries}
    finally:
        await deliveries.close()
        await hub.close()


def install_stream(app: FastAPI) -> None:
    """Add the stream, events and webhooks to ``app`` (``create_app`` does; once only: a second
    hub would poll, number and deliver every event a second time)."""
    if getattr(app.state, "stream_installed", False):
        raise RuntimeError("the stream is installed in this app already")
    app.state.stream_installed = True
    app.include_router(stream_router, prefix=API_PREFIX)
    for router in (events_router, webhooks_router):
        app.include_router(
            router,
            prefix=API_PREFIX,
            dependencies=[Depends(get_current_user)],
            responses=ERROR_RESPONSES,
        )
    collector = _StreamCollector()
    metrics = getattr(app.state, "metrics", None)
    if metrics is not None:
        metrics.registry.register(collector)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        async with inner(app_) as state:
            assert state is not None, "the gateway lifespan yields its state"
            settings = StreamSettings.from_settings(state["settings"])
            async with stream_service(state, settings) as extra:
                collector.hub = extra["stream_hub"]
                collector.deliveries = extra["webhook_deliveries"]
                try:
                    yield {**state, **extra}
                finally:
                    collector.hub = collector.deliveries = None

    app.router.lifespan_context = lifespan


class _StreamCollector(Collector):
    hub: Hub | None = None
    deliveries: Deliveries | None = None

    def collect(self) -> Iterator[Metric]:
        hub = self.hub
        if hub is None:
            return
        yield GaugeMetricFamily(
            "gateway_stream_connections", "Open stream connections", hub.connections
        )
        yield GaugeMetricFamily(
            "gateway_stream_watched_accounts", "Accounts being polled", len(hub.watchers)
        )
        yield CounterMetricFamily(
            "gateway_stream_overflow_closes", "Clients closed with 4008", hub.overflows
        )
        polls = CounterMetricFamily(
            "gateway_stream_market_polls",
            "Market data polls that reached a terminal (one round trip each)",
            labels=["server"],
        )
        symbols = GaugeMetricFamily(
            "gateway_stream_symbols", "Symbols followed per server", labels=["server"]
        )
        for server, (poller, _) in hub.pollers.items():
            polls.add_metric([server], poller.polls)
            symbols.add_metric([server], len(poller.symbols))
        yield polls
        yield symbols
        accounts = CounterMetricFamily(
            "gateway_stream_account_polls", "Account polls that reached a terminal"
        )
        accounts.add_metric([], sum(w.watcher.polls for w in hub.watchers.values()))
        yield accounts
        if self.deliveries is not None:
            yield CounterMetricFamily(
                "gateway_webhook_deliveries",
                "Webhook requests answered 2xx",
                self.deliveries.delivered,
            )
            yield CounterMetricFamily(
                "gateway_webhook_failed_attempts",
                "Webhook attempts that failed (retried)",
                self.deliveries.failed_attempts,
            )
