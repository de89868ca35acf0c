"""The collector behind ``/metrics``: every family read at scrape time from the database (the counter
table, jobs, cycles, escrows, heartbeats) and from the broker (queue lengths)."""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from . import QUARANTINE_REASONS
from .counters import (
    CALL_BUCKETS,
    CALL_DURATION,
    CALLS,
    CYCLE_BUCKETS,
    CYCLE_DURATION,
    CYCLES,
    LAST_SUCCESS,
    OBJECTS,
    SUCCESSFUL,
)

log = logging.getLogger(__name__)

_COUNTER_NAMES = (CYCLES, OBJECTS, CALLS, CYCLE_DURATION, CYCLE_DURATION + "_sum", CALL_DURATION,
                  CALL_DURATION + "_sum", LAST_SUCCESS)
#: quarantine codes whose reason is known without the stored reason key (quarantines older than it)
_REASON_OF_CODE = {"StagedDeletions": "staged", "HighFailureRate": "failures"}
_STAGED_ACTIONS = ("StagedDelete", "StagedDisable")
_OBJECT_TYPES = ("user", "group")


def render() -> bytes:
    """The metrics in Prometheus' text format 0.0.4, from a registry made for this scrape."""
    from prometheus_client.exposition import generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(PortalCollector())
    return generate_latest(registry)


def quarantine_reason(job) -> str:
    """The reason label of a quarantined job, from the fixed set."""
    kind = job.quarantine_kind or _REASON_OF_CODE.get(job.quarantine_code, "")
    return kind if kind in QUARANTINE_REASONS else "other"


class PortalCollector(Collector):
    """Reads everything anew at each scrape; holds nothing between scrapes."""

    def collect(self) -> Iterator:
        yield from self._counters()
        yield from self._jobs()
        yield from self._heartbeats()
        yield from self._broker()

    # ------------------------------------------------------------------ the counter table
    def _counters(self) -> Iterator:
        from ..models import MetricCounter

        rows = defaultdict(list)
        for row in MetricCounter.objects.filter(name__in=_COUNTER_NAMES).order_by("pk"):
            rows[row.name].append(row)

        cycles = CounterMetricFamily("portal_cycles", "Provisioning cycles that ended, by kind and status.",
                                     labels=["job_id", "kind", "status"])
        for row in rows[CYCLES]:
            cycles.add_metric([row.job, row.kind, row.status], row.value)
        yield cycles

        objects = CounterMetricFamily(
            "portal_objects", "Object actions recorded (as in the provisioning logs and the cycles' counters), by "
            "object type, action and status.", labels=["job_id", "object_type", "action", "status"])
        for row in rows[OBJECTS]:
            objects.add_metric([row.job, row.object_type, row.action, row.status], row.value)
        yield objects

        calls = CounterMetricFamily(
            "portal_api_calls", "HTTP requests to Microsoft Graph, Entra ID's token endpoint and Dropbox, by "
            "service, route and answer class (2xx, 4xx, 429, 5xx, error: no answer).",
            labels=["service", "route", "answer"])
        for row in rows[CALLS]:
            calls.add_metric([row.service, row.route, row.answer], row.value)
        yield calls

        yield _histogram(CYCLE_DURATION, "How long provisioning cycles took, from start to end.",
                         ["job_id", "kind"], CYCLE_BUCKETS, rows[CYCLE_DURATION], rows[CYCLE_DURATION + "_sum"],
                         lambda row: (row.job, row.kind))
        yield _histogram(CALL_DURATION, "Latency of the requests to the services, until the answer's headers.",
                         ["service", "route"], CALL_BUCKETS, rows[CALL_DURATION], rows[CALL_DURATION + "_sum"],
                         lambda row: (row.service, row.route))
        self._last_success = {row.job: row.value for row in rows[LAST_SUCCESS]}

    # ------------------------------------------------------------------ jobs, from their rows
    def _jobs(self) -> Iterator:
        from django.db.models import Count, Max
        from django.utils import timezone

        from ..constants import JobState, ProvisioningMode
        from ..models import Escrow, ProvisioningJob, SyncCycle

        jobs = list(ProvisioningJob.objects.filter(application__deleted_at__isnull=True).select_related(
            "staged_cycle").order_by("pk"))
        by_pk = {job.pk: job.job_id for job in jobs}
        now = timezone.now()

        enabled = GaugeMetricFamily("portal_job_enabled", "1 when the job provisions automatically (Provisioning "
                                    "Status On, Provisioning Mode Automatic).", labels=["job_id"])
        running = GaugeMetricFamily("portal_cycle_running", "1 while a cycle of the job runs.", labels=["job_id"])
        quarantined = GaugeMetricFamily(
            "portal_quarantined", "1 for the reason a job is quarantined for, 0 for the others and for jobs not "
            "quarantined.", labels=["job_id", "reason"])
        level = GaugeMetricFamily("portal_quarantine_level", "How many cycles in a row put the job in quarantine "
                                  "(its backoff grows with it); 0 when not quarantined.", labels=["job_id"])
        staged = GaugeMetricFamily("portal_staged_actions", "Deletions and disables staged by the accidental "
                                   "deletion prevention, waiting for an administrator.", labels=["job_id", "action"])
        for job in jobs:
            enabled.add_metric([job.job_id], float(job.enabled and job.mode == ProvisioningMode.AUTOMATIC))
            leased = job.lease_expires_at is not None and job.lease_expires_at > now
            running.add_metric([job.job_id], float(job.state == JobState.RUNNING and leased))
            reason = quarantine_reason(job) if job.quarantine_level else ""
            for name in QUARANTINE_REASONS:
                quarantined.add_metric([job.job_id, name], float(name == reason))
            level.add_metric([job.job_id], job.quarantine_level)
            counters = job.staged_cycle.counters if job.staged_cycle is not None else {}
            for action in _STAGED_ACTIONS:
                staged.add_metric([job.job_id, action], sum((counters.get(action) or {}).values()))
        yield from (enabled, running, quarantined, level, staged)

        escrowed = GaugeMetricFamily("portal_escrowed_objects", "Objects whose last write failed for a passing "
                                     "reason, waiting to be tried again.", labels=["job_id", "object_type"])
        counts = {(row["job_id"], row["object_type"]): row["n"] for row in
                  Escrow.objects.values("job_id", "object_type").annotate(n=Count("id"))}
        for job in jobs:
            for object_type in _OBJECT_TYPES:
                escrowed.add_metric([job.job_id, object_type], counts.get((job.pk, object_type), 0))
        yield escrowed

        # The counter table keeps the time of the last success after its cycle row is purged; the rows
        # give it for cycles that ended before the table existed.
        last = dict(self._last_success)
        for row in SyncCycle.objects.filter(status__in=SUCCESSFUL, job_id__in=list(by_pk)).values(
                "job_id").annotate(at=Max("finished_at")):
            if row["at"] is not None:
                label = by_pk[row["job_id"]]
                last[label] = max(last.get(label, 0.0), row["at"].timestamp())
        since = GaugeMetricFamily(
            "portal_seconds_since_last_successful_cycle", "Seconds since the job's last cycle that completed "
            "(with or without failures); for a job that never completed one, since the job was made.",
            labels=["job_id"])
        for job in jobs:
            at = last.get(job.job_id) or job.created_at.timestamp()
            since.add_metric([job.job_id], max(now.timestamp() - at, 0.0))
        yield since

    # ------------------------------------------------------------------ background services
    def _heartbeats(self) -> Iterator:
        from django.utils import timezone

        from ..health import service_states

        age = GaugeMetricFamily("portal_heartbeat_age_seconds", "Seconds since the Celery worker and beat last "
                                "showed they run (+Inf: never).", labels=["service"])
        now = timezone.now()
        for state, label in zip(service_states(), ("worker", "beat")):
            seconds = (now - state.last_seen).total_seconds() if state.last_seen else math.inf
            age.add_metric([label], max(seconds, 0.0))
        yield age

    def _broker(self) -> Iterator:
        up = GaugeMetricFamily("portal_broker_up", "1 when the Celery broker answered this scrape.")
        length = GaugeMetricFamily("portal_celery_queue_length", "Tasks waiting in each Celery queue.",
                                   labels=["queue"])
        started = time.monotonic()
        try:
            sizes = queue_lengths()
        except Exception as exc:  # noqa: BLE001  unreachable or refusing: say so, and no lengths rather than wrong ones
            log.warning("The broker did not answer the metrics scrape (%s)", exc.__class__.__name__)
            up.add_metric([], 0)
        else:
            up.add_metric([], 1)
            for name, size in sorted(sizes.items()):
                length.add_metric([name], size)
        log.debug("Queue lengths read in %.3f s", time.monotonic() - started)
        yield up
        yield length


def queue_names() -> list[str]:
    """The Celery queues of the settings: the default one and those declared."""
    from portal.celery import app

    names = {app.conf.task_default_queue or "celery"}
    names |= {queue.name for queue in (app.conf.task_queues or ())}
    return sorted(names)


def queue_lengths() -> dict[str, int]:
    """Messages waiting in each queue, as the broker counts them (Redis: ``LLEN`` of the queue's lists)."""
    from kombu.exceptions import ChannelError

    from portal.celery import app

    sizes = {}
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0.2, timeout=2)
        channel = conn.default_channel
        for name in queue_names():
            try:
                sizes[name] = channel.queue_declare(queue=name, passive=True).message_count
            except ChannelError:  # never declared (Redis: an empty queue has no list): nothing waits
                sizes[name] = 0
    return sizes


def _histogram(name: str, documentation: str, labels: list[str], bounds, buckets, sums,
               key) -> HistogramMetricFamily:
    """A histogram family from bucket rows stored one bucket each (made cumulative here) and sum rows;
    every bucket of ``bounds`` is written, empty or not."""
    family = HistogramMetricFamily(name, documentation, labels=labels)
    per_series: dict[tuple, dict[float, float]] = defaultdict(lambda: dict.fromkeys(bounds, 0.0))
    for row in buckets:
        bound = math.inf if row.le == "+Inf" else float(row.le)
        per_series[key(row)][bound] = per_series[key(row)].get(bound, 0.0) + row.value
    total_of = {key(row): row.value for row in sums}
    for series, counts in sorted(per_series.items()):
        cumulative, points = 0.0, []
        for bound in sorted(counts):
            cumulative += counts[bound]
            points.append(("+Inf" if bound == math.inf else _go(bound), cumulative))
        if points[-1][0] != "+Inf":
            points.append(("+Inf", cumulative))
        family.add_metric(list(series), points, sum_value=total_of.get(series, 0.0))
    return family


def _go(bound: float) -> str:
    from prometheus_client.utils import floatToGoString

    return floatToGoString(bound)
