"""Export :meth:`OriginResolver.stats` to Prometheus, read at scrape time.

Needs ``prometheus-client`` (``pip install 'crossorigin[prometheus]'``)::

    from prometheus_client import REGISTRY
    from crossorigin.recipes.prometheus import ResolverCollector

    REGISTRY.register(ResolverCollector({"tenants": resolver}))

Counters come out as ``crossorigin_resolver_<name>_total`` and gauges (cache sizes, calls
running or queued) as ``crossorigin_resolver_<name>``, each labelled with the resolver's
name. A scrape costs one lock and a dozen integers per resolver.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..resolver import OriginResolver

GAUGES = frozenset({"grants", "refusals", "in_flight", "queued"})

_HELP = {
    "hits": "lookups answered from a fresh cached verdict",
    "misses": "lookups that found no fresh verdict",
    "coalesced": "lookups that waited for a call another request started",
    "calls": "calls made to the resolver function",
    "failures": "calls that raised, timed out or answered a non-bool",
    "stale_served": "grants served past their TTL while the function failed",
    "backlog_refusals": "origins refused at once because the backlog was full",
    "outage_refusals": "origins refused without a call while the circuit was open",
    "grants": "grants cached",
    "refusals": "refusals cached",
    "in_flight": "calls running",
    "queued": "calls waiting for a free slot",
}


class ResolverCollector(Collector):
    """A Prometheus collector for named resolvers."""

    def __init__(self, resolvers: Mapping[str, OriginResolver]) -> None:
        self.resolvers = dict(resolvers)

    def collect(self) -> Iterator[Metric]:
        snapshots = {name: r.stats().as_dict() for name, r in self.resolvers.items()}
        for key, description in _HELP.items():
            name = f"crossorigin_resolver_{key}"
            family: CounterMetricFamily | GaugeMetricFamily
            if key in GAUGES:
                family = GaugeMetricFamily(name, description, labels=["resolver"])
            else:
                family = CounterMetricFamily(name, description, labels=["resolver"])
            for resolver_name, values in snapshots.items():
                family.add_metric([resolver_name], values[key])
            yield family
