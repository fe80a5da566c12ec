"""``gateway_replica_*`` metrics at ``/metrics``: leases, forwarding, notifications, orphans."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class ReplicaCollector(Collector):
    """Reads the running replica's figures at scrape time (nothing when leases are off)."""

    replicas: Any = None  # gateway.replicas.service.Replicas, set by the lifespan

    def collect(self) -> Iterator[Metric]:
        replicas = self.replicas
        if replicas is None:
            return
        keeper, listener, forwarder = replicas.keeper, replicas.listener, replicas.forwarder
        yield GaugeMetricFamily(
            "gateway_replica_terminals_held",
            "Terminals whose lease this replica holds",
            len(keeper.held_terminals()),
        )
        yield GaugeMetricFamily(
            "gateway_replica_live_replicas",
            "Live replicas on the board",
            len(keeper.board.replicas),
        )
        yield CounterMetricFamily(
            "gateway_replica_leases_taken", "Terminal leases taken by this replica", keeper.acquired
        )
        yield CounterMetricFamily(
            "gateway_replica_leases_lost",
            "Leases found taken by another replica or expired before renewal",
            keeper.lost,
        )
        forwarded = forwarder.forwarded if forwarder is not None else 0
        fell_back = forwarder.fell_back if forwarder is not None else 0
        yield CounterMetricFamily(
            "gateway_replica_forwarded", "Requests forwarded to another replica", forwarded
        )
        yield CounterMetricFamily(
            "gateway_replica_forward_fallbacks",
            "Forwarded requests served here because the other replica did not answer",
            fell_back,
        )
        yield CounterMetricFamily(
            "gateway_replica_notifications", "LISTEN notifications received", listener.received
        )
        yield CounterMetricFamily(
            "gateway_replica_listen_reconnects",
            "Times the LISTEN connection was replaced",
            listener.reconnects,
        )
        resumed = replicas.orphans.resumed if replicas.orphans is not None else 0
        yield CounterMetricFamily(
            "gateway_replica_orphans_resumed",
            "Trade requests and keys taken up from stopped replicas",
            resumed,
        )
