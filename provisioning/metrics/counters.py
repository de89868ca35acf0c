"""The cumulative counters of ``/metrics``, kept in :class:`~provisioning.models.MetricCounter`.
Callers add to them inside the transaction that records what they count."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from django.db import connection

from ..batching import chunked
from ..constants import CycleStatus

CYCLES = "portal_cycles"
CYCLE_DURATION = "portal_cycle_duration_seconds"
OBJECTS = "portal_objects"
LAST_SUCCESS = "portal_last_successful_cycle_timestamp_seconds"
CALLS = "portal_api_calls"
CALL_DURATION = "portal_api_call_duration_seconds"

#: upper bounds of the cycle duration histogram's buckets, seconds (fixed: changing them starts new series)
CYCLE_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800)
#: upper bounds of the call latency histogram's buckets, seconds
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
#: what a "successful cycle" is for the time since the last one: it completed, maybe with some failures
SUCCESSFUL = (CycleStatus.SUCCEEDED, CycleStatus.COMPLETED_WITH_FAILURES)


class Key(NamedTuple):
    """One counter: a metric name and its labels ("" for a label the metric does not have)."""

    name: str
    job: str = ""
    kind: str = ""
    status: str = ""
    object_type: str = ""
    action: str = ""
    service: str = ""
    route: str = ""
    answer: str = ""
    le: str = ""


_COLUMNS = Key._fields


def bucket_bound(bounds: Iterable[float], value: float) -> str:
    """The ``le`` of the bucket ``value`` falls in (buckets are stored one by one, made cumulative when read)."""
    bounds = tuple(bounds)
    index = bisect.bisect_left(bounds, value)
    return _le(bounds[index]) if index < len(bounds) else "+Inf"


def _le(bound: float) -> str:
    from prometheus_client.utils import floatToGoString

    return floatToGoString(bound)


def add(increments: Mapping[Key, float], *, replace: bool = False) -> None:
    """Add to counters (a missing one starts at zero), or with ``replace`` set them (a timestamp).
    One statement per 500 rows, the rows sorted, so that concurrent writers lock rows in one order."""
    rows = sorted((key, value) for key, value in increments.items() if value or replace)
    if not rows:
        return
    from ..models import MetricCounter

    quote = connection.ops.quote_name
    table = quote(MetricCounter._meta.db_table)
    names = ", ".join(quote(c) for c in (*_COLUMNS, "value"))
    conflict = ", ".join(quote(c) for c in _COLUMNS)
    update = "excluded.value" if replace else f"{table}.value + excluded.value"
    row_sql = "(" + ", ".join(["%s"] * (len(_COLUMNS) + 1)) + ")"
    for chunk in chunked(rows, 500):
        sql = (f"INSERT INTO {table} ({names}) VALUES {', '.join([row_sql] * len(chunk))} "
               f"ON CONFLICT ({conflict}) DO UPDATE SET value = {update}")
        params = [item for key, value in chunk for item in (*key, float(value))]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def cycle_ended(cycle, job_label: str) -> None:
    """Count a cycle that ended: by kind and status, its duration, and when it is a success, its time.
    Call in the transaction that saves the cycle's end."""
    increments = {Key(CYCLES, job=job_label, kind=cycle.kind, status=cycle.status): 1}
    if cycle.started_at and cycle.finished_at:
        seconds = max((cycle.finished_at - cycle.started_at).total_seconds(), 0.0)
        increments[Key(CYCLE_DURATION, job=job_label, kind=cycle.kind,
                       le=bucket_bound(CYCLE_BUCKETS, seconds))] = 1
        increments[Key(CYCLE_DURATION + "_sum", job=job_label, kind=cycle.kind)] = seconds
    add(increments)
    if cycle.status in SUCCESSFUL and cycle.finished_at:
        add({Key(LAST_SUCCESS, job=job_label): cycle.finished_at.timestamp()}, replace=True)


def objects_recorded(job_label: str, counts: Mapping[tuple[str, str, str], int]) -> None:
    """Count recorded object actions: ``counts`` by (object type, action, status), as the cycle's counters
    count them. Call in the transaction that writes their log rows."""
    add({Key(OBJECTS, job=job_label, object_type=object_type, action=action, status=status): count
         for (object_type, action, status), count in counts.items()})
