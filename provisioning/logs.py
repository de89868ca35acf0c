"""Reading the provisioning logs: the filters of the "Provisioning logs" page and
keyset pages over them.

Pages are cut by keyset on ``(activity_time, id)``, newest first, never by
OFFSET and never with a COUNT over the table: a page costs the same whether it
is the first or the ten-thousandth, and rows written by a running cycle do not
shift the pages a reader is walking. The indexes that make each filter cheap are
declared on :class:`~provisioning.models.ProvisioningLog` and in migration 0005.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.db.models import Q, QuerySet

from .models import ProvisioningJob, ProvisioningLog

PAGE_SIZE = 50

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LogQuery:
    """What the reader asked to see. Empty values do not filter."""

    start: datetime | None = None
    end: datetime | None = None
    status: str = ""
    action: str = ""
    #: A prefix of the display name, UPN or email (any case), or exactly a source or target id.
    identity: str = ""
    cycle_id: UUID | None = None
    change_id: UUID | None = None
    object_type: str = ""


def filter_logs(job: ProvisioningJob | None, query: LogQuery) -> QuerySet[ProvisioningLog]:
    """The job's log rows that match ``query``, newest first."""
    if job is None:
        return ProvisioningLog.objects.none()
    logs = ProvisioningLog.objects.filter(job=job)
    if query.start is not None:
        logs = logs.filter(activity_time__gte=query.start)
    if query.end is not None:
        logs = logs.filter(activity_time__lt=query.end)
    if query.status:
        logs = logs.filter(status=query.status)
    if query.action:
        logs = logs.filter(action=query.action)
    if query.object_type:
        logs = logs.filter(object_type=query.object_type)
    if query.cycle_id is not None:
        logs = logs.filter(cycle_id=query.cycle_id)
    if query.change_id is not None:
        logs = logs.filter(change_id=query.change_id)
    if query.identity:
        logs = logs.filter(identity_q(query.identity))
    return logs.order_by("-activity_time", "-id")


def identity_q(text: str) -> Q:
    """Rows whose identity starts with ``text`` or whose object ids are ``text``.

    ``istartswith`` becomes ``UPPER(column::text) LIKE UPPER('text%')`` on
    PostgreSQL, which the ``upper(...) text_pattern_ops`` indexes of migration
    0005 answer; each branch of the OR has an index, so PostgreSQL combines them
    with a BitmapOr instead of reading the table.
    """
    ids = sorted({text, text.lower()})
    return (
        Q(source_display_name__istartswith=text)
        | Q(source_upn__istartswith=text)
        | Q(target_email__istartswith=text)
        | Q(source_id__in=ids)
        | Q(target_id__in=ids)
    )


# ---------------------------------------------------------------------- keyset pages
@dataclass(frozen=True)
class Cursor:
    """A position between two rows in ``(-activity_time, -id)`` order."""

    time: datetime
    id: int

    @classmethod
    def of(cls, log: ProvisioningLog) -> Cursor:
        return cls(log.activity_time, log.pk)

    def encode(self) -> str:
        """An opaque token for the query string."""
        delta = self.time - _EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        raw = f"{micros}.{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """The cursor in ``token``; ``ValueError`` when it was not made by :meth:`encode`."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            micros, _, pk = raw.partition(".")
            time = _EPOCH + timedelta(microseconds=int(micros))
            ident = int(pk)
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as error:
            raise ValueError("not a page cursor") from error
        if ident < 1 or not micros.lstrip("-").isdigit() or not pk.isdigit():
            raise ValueError("not a page cursor")
        return cls(time, ident)


def older_than(cursor: Cursor) -> Q:
    """Rows after ``cursor`` in newest-first order. The ``lte`` bound lets the
    ``(job, -activity_time, -id)`` indexes start the scan at the cursor."""
    return Q(activity_time__lte=cursor.time) & (Q(activity_time__lt=cursor.time) | Q(id__lt=cursor.id))


def newer_than(cursor: Cursor) -> Q:
    """Rows before ``cursor`` in newest-first order."""
    return Q(activity_time__gte=cursor.time) & (Q(activity_time__gt=cursor.time) | Q(id__gt=cursor.id))


@dataclass
class LogPage:
    """One page of rows, newest first, and the cursors of its neighbours (``None``: no such page)."""

    rows: list[ProvisioningLog]
    next: Cursor | None
    previous: Cursor | None


def page_of(logs: QuerySet[ProvisioningLog], *, after: Cursor | None = None, before: Cursor | None = None,
            size: int = PAGE_SIZE) -> LogPage:
    """The page of ``logs`` just after ``after`` (older rows) or just before
    ``before`` (newer rows); the first page when neither is given.

    One query for the rows (``size + 1`` of them, to know whether the page in
    that direction goes on) and, away from the first page, one ``EXISTS`` for
    the other direction.
    """
    if before is not None:
        rows = list(logs.filter(newer_than(before)).order_by("activity_time", "id")[: size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        if not rows:
            return LogPage([], None, None)
        more_older = logs.filter(older_than(Cursor.of(rows[-1]))).exists()
        return LogPage(rows, Cursor.of(rows[-1]) if more_older else None,
                       Cursor.of(rows[0]) if more_newer else None)

    window = logs.filter(older_than(after)) if after is not None else logs
    rows = list(window.order_by("-activity_time", "-id")[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    if not rows:
        return LogPage([], None, None)
    more_newer = after is not None and logs.filter(newer_than(Cursor.of(rows[0]))).exists()
    return LogPage(rows, Cursor.of(rows[-1]) if more_older else None,
                   Cursor.of(rows[0]) if more_newer else None)
