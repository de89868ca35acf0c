"""Account discovery as a background job: the engine sorts every member of the
target (engine/discovery.py); this fills an :class:`AccountDiscovery` with what
it found, in bulk, with its progress for the page, and says why when it fails.
It writes nothing to the target, to the source or to the job."""

from __future__ import annotations

import csv
import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator

from django.utils import timezone

from . import connections
from .audit import redact_text
from .bulk import insert_rows
from .connectors.errors import ConnectorError
from .constants import ObjectType
from .engine.config import from_job
from .engine.discovery import Discovery, Finding
from .engine.store import Store
from .log_export import safe_cell
from .models import AccountDiscovery, DiscoveredAccount

log = logging.getLogger(__name__)

WRITE_EVERY = 2000


def run(discovery_id: int) -> AccountDiscovery:
    record = AccountDiscovery.objects.select_related("job__application").get(pk=discovery_id)
    job = record.job
    progress = _Progress(record)
    counts: Counter = Counter()
    try:
        links = Store(job, None, read_only=True).links(ObjectType.USER)
        discovery = Discovery(from_job(job), connections.source(), connections.target(job, dry_run=True), links,
                              now=timezone.now(), progress=progress)
        batch: list[DiscoveredAccount] = []
        for finding in discovery.run():
            counts[finding.category] += 1
            batch.append(_row(record, finding))
            if len(batch) >= WRITE_EVERY:
                insert_rows(DiscoveredAccount, batch)
                batch = []
        insert_rows(DiscoveredAccount, batch)
    except ConnectorError as exc:
        return _failed(record, exc.message)
    except Exception as exc:  # the page must never wait forever for a discovery that crashed
        log.exception("Account discovery %s failed", record.pk)
        return _failed(record, redact_text(f"Unexpected error: {exc.__class__.__name__}: {exc}"))
    AccountDiscovery.objects.filter(pk=record.pk).update(
        status="done", finished_at=timezone.now(), counts=dict(counts), processed=sum(counts.values()), phase="")
    record.refresh_from_db()
    return record


class _Progress:
    """Stores the phase and the members sorted, at most once a second."""

    def __init__(self, record: AccountDiscovery):
        self.record = record
        self._last = 0.0

    def __call__(self, phase: str, done: int) -> None:
        now = time.monotonic()
        if now - self._last < 1.0 and done:
            return
        self._last = now
        AccountDiscovery.objects.filter(pk=self.record.pk).update(phase=phase[:120], processed=done)


def _row(record: AccountDiscovery, finding: Finding) -> DiscoveredAccount:
    account = finding.account
    name = " ".join(v for v in (account.values.get("givenName"), account.values.get("surname")) if v)
    return DiscoveredAccount(
        discovery=record, category=finding.category, target_id=account.id[:120], email=account.label[:300],
        display_name=name[:300], status=account.status, is_admin=account.is_admin, source_id=finding.source_id,
        source_upn=finding.source_upn[:300], source_display_name=finding.source_name[:300],
        matched_by=finding.matched_by, note=finding.note,
        differences=[{"name": n, "target": old, "source": new} for n, old, new in finding.differences],
    )


def _failed(record: AccountDiscovery, message: str) -> AccountDiscovery:
    AccountDiscovery.objects.filter(pk=record.pk).update(status="failed", error=message, finished_at=timezone.now())
    record.refresh_from_db()
    return record


CSV_COLUMNS = ("category", "email", "display_name", "status", "is_admin", "target_id", "source_upn",
               "source_display_name", "source_id", "matched_by", "differences", "note")


def csv_lines(rows: Iterable[DiscoveredAccount]) -> Iterator[str]:
    """The findings as CSV, a line at a time (a 100,000-member team streams rather than loads)."""

    class _Line:
        def write(self, text: str) -> str:
            return text

    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    for row in rows:
        differences = "; ".join(f"{d['name']}: {d['target']} -> {d['source']}" for d in row.differences)
        values = [row.get_category_display(), row.email, row.display_name, row.status, row.is_admin, row.target_id,
                  row.source_upn, row.source_display_name, row.source_id, row.matched_by, differences, row.note]
        yield writer.writerow([safe_cell(v) for v in values])
