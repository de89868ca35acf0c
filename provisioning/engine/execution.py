"""Execution: the planned writes, sent to Dropbox with bounded concurrency that
halves when Dropbox answers 429 and grows back while it does not.

Work runs in threads; results come back to the calling thread, which alone
touches the database (in bulk)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from ..connectors.dropbox import ADD_BATCH_SIZE, DropboxConnector, Member, NewMember
from ..connectors.errors import (
    BadDataError,
    ConnectorError,
    CredentialsError,
    NotFoundError,
    TransientError,
)
from ..constants import Action, LogStatus, ObjectType
from .config import EngineConfig
from .planning import Plan

log = logging.getLogger(__name__)


class AdaptiveLimit:
    """How many writes may be in flight: halved on a rate limit, one more after
    every ``limit`` successes (additive increase, multiplicative decrease)."""

    def __init__(self, initial: int = 8, maximum: int = 32, minimum: int = 1):
        self.limit = initial
        self.maximum = maximum
        self.minimum = minimum
        self.active = 0
        self.peak = initial
        self.throttles = 0
        self._successes = 0
        self._cond = threading.Condition()

    def acquire(self) -> None:
        with self._cond:
            while self.active >= self.limit:
                self._cond.wait()
            self.active += 1

    def release(self, ok: bool = True) -> None:
        with self._cond:
            self.active -= 1
            if ok:
                self._successes += 1
                if self._successes >= self.limit and self.limit < self.maximum:
                    self.limit += 1
                    self.peak = max(self.peak, self.limit)
                    self._successes = 0
            self._cond.notify_all()

    def throttled(self, _wait: float = 0.0) -> None:
        with self._cond:
            self.throttles += 1
            self.limit = max(self.minimum, self.limit // 2)
            self._successes = 0


@dataclass
class Result:
    """What became of one planned action."""

    plan: Plan
    status: str
    action: str
    error: ConnectorError | None = None
    member: Member | None = None
    target_id: str = ""
    target_email: str = ""
    exported: dict = field(default_factory=dict)
    duration_ms: int = 0
    #: a passing failure: escrow the object for a later cycle
    transient: bool = False
    #: the link must be dropped (the target vanished)
    unlink: bool = False

    @property
    def ok(self) -> bool:
        return self.status in (LogStatus.SUCCESS, LogStatus.WARNING)


def _exported(values: dict) -> dict:
    return {k: v for k, v in values.items() if k != "members"}


class Executor:
    """Sends planned writes to Dropbox."""

    def __init__(self, target: DropboxConnector, config: EngineConfig, *, max_workers: int = 24,
                 initial: int = 8, should_stop: Callable[[], bool] = lambda: False):
        self.target = target
        self.config = config
        self.limit = AdaptiveLimit(initial=initial, maximum=max_workers)
        self.max_workers = max_workers
        self.should_stop = should_stop
        #: the error that stopped execution (rejected credentials), raised once the work in flight is recorded
        self.fatal: CredentialsError | None = None
        target.on_rate_limit = self.limit.throttled

    # ------------------------------------------------------------------ scheduling
    def run(self, plans: Iterable[Plan]) -> Iterator[Result]:
        """Execute plans; yield results as they complete (in this thread). Stops taking new work
        when ``should_stop`` says so or the credentials are rejected, and always drains the work in
        flight, so every write that reached Dropbox comes back as a result."""
        units = self._units(plans)
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="dropbox") as pool:
            in_flight: set[Future] = set()
            exhausted = False
            while True:
                while not exhausted and len(in_flight) < self.max_workers * 2:
                    if self.fatal is not None or self.should_stop():
                        exhausted = True
                        break
                    unit = next(units, None)
                    if unit is None:
                        exhausted = True
                        break
                    in_flight.add(pool.submit(self._guarded, unit))
                if not in_flight:
                    return
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    yield from future.result()

    def _units(self, plans: Iterable[Plan]) -> Iterator[list[Plan]]:
        creates: list[Plan] = []
        for plan in plans:
            if plan.object_type == ObjectType.USER and plan.action == Action.CREATE:
                creates.append(plan)
                if len(creates) == ADD_BATCH_SIZE:
                    yield creates
                    creates = []
            else:
                yield [plan]
        if creates:
            yield creates

    def _guarded(self, unit: list[Plan]) -> list[Result]:
        self.limit.acquire()
        ok = False
        try:
            results = self._execute(unit)
            ok = all(r.ok or not r.transient for r in results)
            return results
        finally:
            self.limit.release(ok)

    def _execute(self, unit: list[Plan]) -> list[Result]:
        started = time.monotonic()
        first = unit[0]
        try:
            if first.object_type == ObjectType.USER and first.action == Action.CREATE:
                results = self._create_users(unit)
            elif first.object_type == ObjectType.USER:
                results = [self._user_action(first)]
            else:
                results = [self._group_action(first)]
        except CredentialsError as exc:
            # Every further call would fail the same way: stop taking work, keep what is done,
            # and retry these objects once the credentials are fixed.
            self.fatal = exc
            results = [Result(plan, LogStatus.FAILURE, plan.action, error=exc, transient=True,
                              target_id=plan.target_id, target_email=plan.target_email) for plan in unit]
        except ConnectorError as exc:
            results = [self._failure(plan, exc) for plan in unit]
        elapsed = int((time.monotonic() - started) * 1000)
        for result in results:
            result.duration_ms = result.duration_ms or elapsed
        return results

    @staticmethod
    def _failure(plan: Plan, exc: ConnectorError) -> Result:
        return Result(plan, LogStatus.FAILURE, plan.action, error=exc, transient=isinstance(exc, TransientError),
                      target_id=plan.target_id, target_email=plan.target_email,
                      unlink=isinstance(exc, NotFoundError) and plan.object_type == ObjectType.USER)

    def _retrying(self, call: Callable, attempts: int = 2):
        """Retry a passing failure once more within the cycle, after the connector's own retries."""
        for attempt in range(attempts):
            try:
                return call()
            except TransientError:
                if attempt == attempts - 1:
                    raise
                time.sleep(1.0 + attempt)

    # ------------------------------------------------------------------ users
    def _create_users(self, plans: list[Plan]) -> list[Result]:
        new = [
            NewMember(email=p.values["email"], given_name=p.values.get("givenName"), surname=p.values.get("surname"),
                      external_id=p.values.get("externalId"))
            for p in plans
        ]
        try:
            outcomes = self._retrying(lambda: self.target.add_members(new))
        except BadDataError:
            if len(plans) == 1:
                raise
            # Dropbox refused the whole call because of one member: send them one by one,
            # so only the member at fault fails.
            results = []
            for plan in plans:
                try:
                    results += self._create_users([plan])
                except BadDataError as exc:
                    results.append(self._failure(plan, exc))
            return results
        results = []
        for plan, outcome in zip(plans, outcomes):
            if outcome.kind == "created":
                results.append(Result(plan, LogStatus.SUCCESS, Action.CREATE, member=outcome.member,
                                      target_id=outcome.member.team_member_id, target_email=outcome.member.email,
                                      exported=_exported(plan.values)))
            elif outcome.kind == "already_on_team":
                results.append(self._link_existing(plan))
            else:
                error = BadDataError(outcome.message, code=outcome.code, field=outcome.field, service="Dropbox")
                if outcome.kind == "license_limit":
                    error.recommendation = "Buy more Dropbox licenses or unassign users from the application."
                results.append(Result(plan, LogStatus.FAILURE, Action.CREATE, error=error,
                                      transient=outcome.kind == "license_limit"))
        return results

    def _link_existing(self, plan: Plan) -> Result:
        """Dropbox says the user is already on the team: look it up, link it, bring it up to date."""
        member = self.target.get_member("email", plan.values["email"])
        if member is None:
            return Result(plan, LogStatus.FAILURE, Action.CREATE, transient=True,
                          error=TransientError("Dropbox reported the user already on the team but could not find it.",
                                               service="Dropbox", code="DropboxMemberNotFound"))
        plan.target_id, plan.target_email, plan.newly_linked = member.team_member_id, member.email, True
        from .planning import member_changes

        changes = member_changes(plan.values, member)
        if changes and self.config.users.allow_update and member.team_member_id != self.config.protected_member_id:
            self._set_profile(member.team_member_id, changes)
            plan.changes = changes
            action = Action.UPDATE
        else:
            plan.changes = []
            action = Action.OTHER
        plan.reason = "The user was already a member of the Dropbox team; it is now linked."
        if member.status == "suspended" and member.team_member_id != self.config.protected_member_id:
            self.target.unsuspend(member.team_member_id)
            action = Action.ENABLE
        return Result(plan, LogStatus.SUCCESS, action, member=member, target_id=member.team_member_id,
                      target_email=member.email, exported=_exported(plan.values))

    def _set_profile(self, member_id: str, changes) -> None:
        new = {name: value for name, _, value in changes}
        self._retrying(lambda: self.target.set_profile(
            member_id, email=new.get("email"), given_name=new.get("givenName"), surname=new.get("surname"),
            external_id=new.get("externalId"),
        ))

    def _user_action(self, plan: Plan) -> Result:
        member_id = plan.target_id
        if plan.action == Action.UPDATE:
            self._set_profile(member_id, plan.changes)
        elif plan.action == Action.ENABLE:
            self._retrying(lambda: self.target.unsuspend(member_id))
            if plan.changes:
                self._set_profile(member_id, plan.changes)
        elif plan.action == Action.DISABLE:
            self._retrying(lambda: self.target.suspend(member_id, wipe_data=self.config.wipe_devices_on_disable))
        elif plan.action == Action.DELETE:
            transfer = self.config.transfer_files_to or None
            if transfer == member_id or plan.remove_instead:
                transfer = None
            self._retrying(lambda: self.target.remove(
                member_id, wipe_data=True, transfer_dest_id=transfer, transfer_admin_id=transfer,
            ))
        return Result(plan, LogStatus.SUCCESS, plan.action, target_id=member_id, target_email=plan.target_email,
                      exported=_exported(plan.values) if plan.values else {})

    # ------------------------------------------------------------------ groups
    def _group_action(self, plan: Plan) -> Result:
        if plan.action == Action.CREATE:
            try:
                group = self._retrying(lambda: self.target.create_group(
                    plan.values.get("groupName") or plan.display_name, external_id=plan.values.get("externalId")))
            except BadDataError as exc:
                if exc.code != "DropboxGroupNameAlreadyUsed":
                    raise
                # Created by an earlier, interrupted run (or by hand): link it rather than fail.
                name = (plan.values.get("groupName") or plan.display_name).lower()
                group = next((g for g in self.target.iter_groups() if g.name.lower() == name), None)
                if group is None:
                    raise
                plan.newly_linked = True
            plan.target_id, plan.target_email = group.group_id, group.name
            self._retrying(lambda: self.target.add_group_members(group.group_id, plan.add_members))
            return Result(plan, LogStatus.SUCCESS, Action.CREATE, target_id=group.group_id, target_email=group.name,
                          exported=dict(plan.values))
        if plan.action == Action.UPDATE:
            renamed = {name: new for name, _, new in plan.changes if name in ("groupName", "externalId")}
            if renamed:
                self._retrying(lambda: self.target.update_group(
                    plan.target_id, name=renamed.get("groupName"), external_id=renamed.get("externalId")))
            self._retrying(lambda: self.target.add_group_members(plan.target_id, plan.add_members))
            self._retrying(lambda: self.target.remove_group_members(plan.target_id, plan.remove_members))
        elif plan.action == Action.DELETE:
            self._retrying(lambda: self.target.delete_group(plan.target_id))
        return Result(plan, LogStatus.SUCCESS, plan.action, target_id=plan.target_id, target_email=plan.target_email,
                      exported=dict(plan.values) if plan.values else {})
