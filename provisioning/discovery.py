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
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from . import connections
from .audit import redact_text
from .bulk import insert_rows
from .connectors.errors import ConnectorError, NotFoundError
from .constants import AuditActivity, ObjectType
from .engine.config import from_job
from .engine.discovery import Discovery, Finding
from .engine.store import Store
from .log_export import safe_cell
from .models import AccountDiscovery, DiscoveredAccount, ObjectLink
from .targets.base import AccountStatus

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


# ---------------------------------------------------------------------- acting on what discovery found
class DiscoveryActionError(Exception):
    """An action on discovered members that cannot be done as asked (the message says why)."""


def link_to_user(record: AccountDiscovery, row: DiscoveredAccount, user_key: str, actor) -> ObjectLink:
    """Link a discovered member to a Microsoft Entra ID user (by object id or user principal name) that the
    matching attributes do not find. Nothing changes in Dropbox now: provision on demand, or the next
    full cycle, brings the member in step with the user."""
    job = record.job
    if row.category not in LINKABLE:
        raise DiscoveryActionError(f"{row.email} is {row.get_category_display().lower()}: only members linked to "
                                   "no user can be linked.")
    user_key = user_key.strip()
    if not user_key:
        raise DiscoveryActionError("Enter the object id or user principal name of the Microsoft Entra ID user.")
    try:
        source = connections.source(interactive=True)
        user = source.get_user(user_key, source.select_for(from_job(job).users.source_attributes()))
    except NotFoundError:
        raise DiscoveryActionError(f"Microsoft Entra ID has no user {user_key}.") from None
    except ConnectorError as exc:
        raise DiscoveryActionError(f"Microsoft Entra ID could not be asked: {exc.message}") from None
    upn = user.get("userPrincipalName") or user["id"]
    refusal = _out_of_scope(job, user)
    if refusal:
        raise DiscoveryActionError(f"{upn} is not in scope for provisioning ({refusal[:1].lower()}{refusal[1:]}) "
                                   "Linked, the member would be deprovisioned by the next full cycle: assign the "
                                   "user first.")
    with transaction.atomic():
        taken = ObjectLink.objects.select_for_update().filter(job=job, object_type=ObjectType.USER)
        if taken.filter(target_id=row.target_id).exists():
            raise DiscoveryActionError(f"{row.email} was linked since the discovery ran: nothing was changed.")
        other = taken.filter(source_id=user["id"]).first()
        if other is not None:
            raise DiscoveryActionError(f"{upn} is already linked to {other.target_email or other.target_id}: "
                                       "unlink it first (Object links).")
        link = ObjectLink.objects.create(
            job=job, object_type=ObjectType.USER, source_id=user["id"], target_id=row.target_id,
            display_name=(user.get("displayName") or "")[:300], user_principal_name=upn[:300],
            target_email=row.email, matched_by="by hand", exported={})
        actor.audit(AuditActivity.LINK, job, target_type="Object link", target_id=f"user:{user['id']}",
                    target_display=f"{user.get('displayName') or upn} - {row.email}",
                    after={"source_id": user["id"], "target_id": row.target_id, "target": row.email},
                    detail=f"Linked by hand from account discovery {record.pk}.")
        DiscoveredAccount.objects.filter(pk=row.pk).update(
            category="linked", source_id=user["id"], source_upn=upn[:300],
            source_display_name=(user.get("displayName") or "")[:300], matched_by="by hand",
            note="Linked by hand: provision on demand, or the next full cycle, brings it in step.")
    return link


def _out_of_scope(job, user: dict) -> str:
    """Why a user is not in scope for provisioning ("" when it is), as a cycle would decide."""
    from .engine.mapping import user_source_attributes
    from .engine.scope import read_assignments, user_decision

    config = from_job(job)
    source = connections.source(interactive=True)
    assignments = read_assignments(source, config)
    groups = source.group_ids_of_user(user["id"], transitive=config.expand_nested_groups) & set(assignments.groups)
    if user.get("accountEnabled") is False:
        return "The user is disabled in Microsoft Entra ID."
    decision = user_decision(config, user_source_attributes(user), assignments, groups)
    return "" if decision.in_scope else decision.reason


#: what may be linked to a user by hand: members linked to no user
LINKABLE = ("orphan", "out_of_scope", "will_match", "conflict")


def suspend_unlinked(record: AccountDiscovery, rows: list[DiscoveredAccount], actor):
    """Suspend members discovery found linked to no user (orphans), after checking each against the team as
    it is now: never the admin who authorized the portal or the last team admin, never a member linked
    since, and no more at once than the accidental-deletion threshold allows. Each suspension gets its
    provisioning log row; the action its audit event."""
    from .constants import Action, LogStatus
    from .engine.execution import Executor
    from .engine.store import StopRequested
    from .models import ProvisioningLog
    from .engine.record import Tally, execute_and_record
    from .engine.types import Plan, step

    job = record.job
    if not rows:
        raise DiscoveryActionError("Select the members to suspend.")
    if any(row.category != "orphan" for row in rows):
        raise DiscoveryActionError("Only orphans (members linked to no user, with no user matching them) are "
                                   "suspended from here.")
    if job.prevent_accidental_deletion and len(rows) > job.deletion_threshold:
        raise DiscoveryActionError(f"{len(rows)} members are more than the accidental deletion threshold "
                                   f"({job.deletion_threshold}): select fewer, or raise the threshold in Settings.")
    target = connections.target(job, interactive=True)
    admin = target.authenticated_admin()
    current = target.find([("id", row.target_id) for row in rows])
    linked = set(ObjectLink.objects.filter(job=job, target_id__in=[r.target_id for r in rows])
                 .values_list("target_id", flat=True))
    # the team admins that stay active: one must always remain, whatever is selected
    admins = {a.id for a in target.iter_accounts() if a.is_admin and a.status == AccountStatus.ACTIVE} \
        if any(row.is_admin for row in rows) else set()
    plans, left_out = [], []
    for row in rows:
        account = current.get(("id", row.target_id))
        if account is None or account.status != AccountStatus.ACTIVE:
            left_out.append(f"{row.email} ({account.status if account else 'gone'})")
        elif account.id == admin.id or (account.is_admin and len(admins - {account.id}) < 1) \
                or account.id in linked:
            left_out.append(f"{row.email} (protected or linked)")
        else:
            admins.discard(account.id)
            plans.append(Plan(ObjectType.USER, Action.DISABLE, "", display_name=row.display_name or row.email,
                              target_id=account.id, target_label=account.label, link=False,
                              reason=f"Suspended from account discovery by {actor.label}: the member is linked "
                                     "to no Microsoft Entra ID user.",
                              steps=[step("Account discovery", "Success",
                                          f"Found linked to no user by the discovery of "
                                          f"{record.created_at:%Y-%m-%d %H:%M}.")]))
    tally = Tally()
    started = timezone.now()
    try:
        if plans:
            store = Store(job, None, initiated_by=actor.label)
            try:
                execute_and_record(plans, Executor(target, from_job(job), should_stop=lambda: False), store, tally)
            except StopRequested:
                pass  # a stop meant for cycles, met once every write here is recorded
    finally:
        # the action is audited whatever became of it, with the members it really suspended
        done = list(ProvisioningLog.objects.filter(
            job=job, action=Action.DISABLE, status=LogStatus.SUCCESS, initiated_by=actor.label,
            activity_time__gte=started, target_id__in=[p.target_id for p in plans]).values_list("target_id", flat=True))
        actor.audit(AuditActivity.SUSPEND_UNLINKED, job,
                    detail=f"{len(done)} of {len(rows)} members suspended from account discovery {record.pk}"
                           + (f"; left out: {', '.join(left_out)}" if left_out else "") + ".")
        DiscoveredAccount.objects.filter(discovery=record, target_id__in=done).update(status="suspended")
    return Suspended(len(done), tally.write_failures, left_out, tally.top_error)


@dataclass(frozen=True)
class Suspended:
    """What suspending members from account discovery did."""

    suspended: int
    failed: int
    left_out: list[str]
    top_error: str = ""
