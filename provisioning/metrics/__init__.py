"""Prometheus metrics of the portal, served at ``/metrics`` (see portal/views/metrics.py).

How the figures are made, so that they are right with several worker processes on several
machines, without prometheus-client's multiprocess directory (which only works for processes
sharing one disk, and loses counts when a worker's files go with its container):

- **Everything is derived at scrape time** by one custom collector (:mod:`.collector`), from the
  database and the broker: a fresh ``CollectorRegistry`` per scrape holds only it. Gauges (escrows,
  staged actions, quarantine, time since the last successful cycle, heartbeat ages, queue lengths)
  are read from their rows and from the broker as they are at that moment.
- **Counters live in a table**, :class:`~provisioning.models.MetricCounter`, because the rows they
  count (cycles, provisioning log rows) are purged after their retention while a Prometheus counter
  must never go down. Each is added to in the transaction that records what it counts: a cycle's end
  (:func:`.counters.cycle_ended`, with its duration histogram), a batch of recorded object actions
  (:func:`.counters.objects_recorded`, in the store's batch transaction), so a counter and the rows
  it counts are committed together or not at all. The add is one ``INSERT ... ON CONFLICT DO UPDATE
  SET value = value + excluded.value`` (PostgreSQL and SQLite), rows in a fixed order so that
  concurrent writers lock them in the same order.
- **Calls to Microsoft Graph, Entra's token endpoint and Dropbox** are counted in the process that
  makes them, in the one place every SDK request goes through (the routing adapter of
  :mod:`provisioning.connectors.routing`), by service, route and answer class, with their latency
  (:mod:`.calls`). The counts are aggregated in memory and added to the table at the end of each
  cycle, and otherwise at most every :data:`.calls.FLUSH_SECONDS` (from the cycle's progress writes,
  after each Celery task and after web requests), never per call.

Labels are bounded: a job's id (bounded by the number of applications), fixed sets for kinds,
statuses, actions, answer classes and quarantine reasons, and routes whose ids are replaced by
``{id}``. Never a user id, a name or an email.
"""

from __future__ import annotations

#: why a job is quarantined, as the ``reason`` label says it (jobs.quarantine's reason keys)
QUARANTINE_REASONS = ("credentials", "configuration", "staged", "failures", "other")

#: the answer classes of a call to an outside service
ANSWER_CLASSES = ("2xx", "4xx", "429", "5xx", "error")
