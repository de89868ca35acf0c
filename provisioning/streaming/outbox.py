"""The write side of the outbox: called inside the transaction that writes the rows (see the
package's docstring for why one entry per batch)."""

from __future__ import annotations

from collections.abc import Sequence

from .models import StreamDestination, StreamEntry


def _destinations(kind: str) -> list[int]:
    wanted = {"send_logs": True} if kind == StreamEntry.LOG else {"send_audit": True}
    return list(StreamDestination.objects.filter(enabled=True, **wanted).values_list("pk", flat=True))


def enqueue_logs(rows: Sequence) -> None:
    """One outbox entry per enabled destination for these provisioning log rows (just inserted, in
    the caller's transaction; model instances or plain rows). Rows are named by ``change_id``, which the engine sets before writing."""
    if not rows:
        return
    destinations = _destinations(StreamEntry.LOG)
    if not destinations:
        return
    refs = [str(row["change_id"] if isinstance(row, dict) else row.change_id) for row in rows]
    StreamEntry.objects.bulk_create(
        [StreamEntry(destination_id=pk, kind=StreamEntry.LOG, refs=refs) for pk in destinations])


def enqueue_audit(event) -> None:
    """One outbox entry per enabled destination for this audit event (in the caller's transaction)."""
    destinations = _destinations(StreamEntry.AUDIT)
    if destinations:
        StreamEntry.objects.bulk_create(
            [StreamEntry(destination_id=pk, kind=StreamEntry.AUDIT, refs=[event.pk]) for pk in destinations])
