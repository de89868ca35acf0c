"""The read side of the outbox: claim a destination's oldest entries, send them, and delete what
the receiver confirmed, in one transaction (see the package's docstring for the guarantees)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, transaction
from django.db.models import Min, Q, Subquery
from django.utils import timezone

from . import conf
from .models import StreamDestination, StreamEntry
from .records import records
from .transports import DeliveryError, Transport, open_transport

log = logging.getLogger(__name__)


@dataclass
class Claim:
    """What one claim did: entries confirmed, rows in them, and the failure that stopped it (if any)."""

    delivered: int = 0
    rows: int = 0
    error: str = ""


def due_destinations() -> list[int]:
    """Enabled destinations whose oldest waiting entry is due (its backoff, if any, is over)."""
    heads = (StreamEntry.objects.filter(destination__enabled=True, dead_at__isnull=True).values("destination_id")
             .annotate(head=Min("id")).values("head"))
    return list(StreamEntry.objects.filter(pk__in=Subquery(heads))
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
                .order_by("destination_id").values_list("destination_id", flat=True))


class Lane:
    """The connection to one destination, kept open from one claim to the next of a delivery (a TLS
    handshake per claim was a tenth of a delivery's time). A transport whose sends are confirmed only
    when it closes (syslog) is closed after each claim; a destination changed since it was opened
    gets a new connection."""

    def __init__(self):
        self.transport: Transport | None = None
        self._opened_for: tuple | None = None

    def open(self, destination: StreamDestination) -> Transport:
        key = (destination.pk, destination.updated_at)
        if self.transport is not None and self._opened_for != key:
            self.close()
        if self.transport is None:
            self.transport = open_transport(destination)
            self._opened_for = key
        return self.transport

    def done(self) -> None:
        """The claim's sends are over: confirm them if the transport confirms by closing."""
        if self.transport is not None and not self.transport.acknowledges:
            transport, self.transport = self.transport, None
            transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            transport, self.transport = self.transport, None
            transport.abort()

    def close(self) -> None:
        if self.transport is not None:
            transport, self.transport = self.transport, None
            try:
                transport.close()
            except (DeliveryError, OSError):
                pass  # everything it sent was already confirmed


def deliver(destination_id: int, *, budget_seconds: float | None = None) -> int:
    """Deliver a destination's due entries, oldest first, until none is due, a delivery fails, another
    worker holds the destination, or the time budget is spent. Returns the rows confirmed."""
    deadline = time.monotonic() + (conf.budget_seconds() if budget_seconds is None else budget_seconds)
    rows = 0
    lane = Lane()
    try:
        while True:
            claim = deliver_once(destination_id, lane=lane)
            if claim is None:
                return rows
            rows += claim.rows
            if claim.error or time.monotonic() >= deadline:
                return rows
    finally:
        lane.close()


def deliver_once(destination_id: int, *, lane: Lane | None = None) -> Claim | None:
    """One claim of at most ``STREAM_ENTRIES_PER_CLAIM`` entries; None when there was nothing to do
    (nothing due, the destination disabled or held by another worker). ``lane``: a connection kept
    for the next claim (else one is opened and closed for this claim)."""
    own = lane is None
    lane = lane or Lane()
    try:
        return _claim(destination_id, lane)
    finally:
        if own:
            lane.close()


def _claim(destination_id: int, lane: Lane) -> Claim | None:
    with transaction.atomic():
        # The destination's row is the lane's lock: a second worker skips it rather than waiting, so
        # one destination's entries are never sent by two workers at once (order).
        destination = (StreamDestination.objects.select_for_update(skip_locked=True)
                       .filter(pk=destination_id, enabled=True).first())
        if destination is None:
            return None
        lane_entries = StreamEntry.objects.filter(destination=destination, dead_at__isnull=True).order_by("id")
        entries = list(lane_entries.select_for_update(skip_locked=True)[:conf.entries_per_claim()])
        now = timezone.now()
        if not entries or (entries[0].next_attempt_at and entries[0].next_attempt_at > now):
            return None  # the oldest is waiting out its backoff: the later ones wait behind it
        claim, failed = _send(destination, entries, lane)
        confirmed = entries[:claim.delivered]
        StreamEntry.objects.filter(pk__in=[e.pk for e in confirmed]).delete()
        if failed is not None:
            _failed(destination, failed, claim.error, now)
        elif confirmed:
            StreamDestination.objects.filter(pk=destination.pk).update(last_delivered_at=now, last_error="")
        return claim


def _send(destination: StreamDestination, entries: list[StreamEntry], lane: Lane) -> tuple[Claim, StreamEntry | None]:
    """Send the entries in order; the claim counts those confirmed, and names the first that was not."""
    claim = Claim()
    sent = 0
    try:
        transport = lane.open(destination)
    except DeliveryError as exc:
        claim.error = str(exc)
        return claim, entries[0]
    rows = []
    try:
        for entry in entries:
            batch = records(entry)
            transport.send(batch)
            sent += 1
            rows.append(len(batch))
            if transport.acknowledges:
                claim.delivered, claim.rows = sent, sum(rows)
        lane.done()
        claim.delivered, claim.rows = sent, sum(rows)
    except DatabaseError:
        lane.abort()
        raise
    # DeliveryError, or anything unforeseen (a bug): it must show as the entry's error, not block the lane unseen
    except Exception as exc:  # noqa: BLE001
        claim.error = str(exc) if isinstance(exc, DeliveryError) else str(DeliveryError(
            f"{exc.__class__.__name__}: {exc}"))
        lane.abort()
        return claim, entries[claim.delivered]
    return claim, None


def backoff(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed deliveries: the base, doubled each time, at most the maximum."""
    seconds = conf.retry_base_seconds() * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, conf.retry_max_seconds()))


def _failed(destination: StreamDestination, entry: StreamEntry, error: str, now) -> None:
    attempts = entry.attempts + 1
    dead = attempts >= destination.max_attempts
    StreamEntry.objects.filter(pk=entry.pk).update(
        attempts=attempts, last_error=error, next_attempt_at=now + backoff(attempts), dead_at=now if dead else None)
    StreamDestination.objects.filter(pk=destination.pk).update(last_error=error)
    # the error is redacted (DeliveryError) and names no token
    log.warning("Log streaming to %r failed (attempt %s of %s%s): %s", destination.name, attempts,
                destination.max_attempts, ", now a dead letter" if dead else "", error)


def retry(entry: StreamEntry) -> None:
    """A dead letter back in its destination's lane, to be delivered at the next run."""
    StreamEntry.objects.filter(pk=entry.pk).update(dead_at=None, attempts=0, next_attempt_at=None)
