"""Execution: the planned writes, sent to the target with bounded concurrency
that halves when the target answers 429 and grows back while it does not.

Work runs in threads; results come back to the calling thread, which alone
touches the database (in bulk). Where the target gates its own calls (its
``call_limit``), the bound is on calls in flight, and a write waiting for an
async job (a Dropbox add of 20 members, say) holds no place meanwhile: more
writes than the limit are under way, each call still within it."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from ..connectors.errors import (
    BadDataError,
    ConflictError,
    ConnectorError,
    CredentialsError,
    NotFoundError,
    TransientError,
)
from ..constants import Action, LogStatus, ObjectType
from ..targets.base import Account, AccountStatus, CreateOutcome, NewAccount, RemoveOptions, TargetConnector
from .config import EngineConfig
from .types import Plan

log = logging.getLogger(__name__)


class AdaptiveLimit:
    """How many writes may be in flight. It starts small and doubles after every ``limit``
    successes until the target first answers 429 (slow start); from then on it is halved on a
    rate limit and grows by one after every ``limit`` successes (additive increase,
    multiplicative decrease)."""

    def __init__(self, initial: int = 8, maximum: int = 32, minimum: int = 1):
        self.maximum = maximum
        self.minimum = minimum
        self.limit = max(minimum, min(initial, maximum))
        self.active = 0
        self.peak = self.limit
        self.throttles = 0
        self.slow_start = True
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
            before = self.limit
            if ok:
                self._successes += 1
                if self._successes >= self.limit and self.limit < self.maximum:
                    grown = self.limit * 2 if self.slow_start else self.limit + 1
                    self.limit = min(self.maximum, grown)
                    self.peak = max(self.peak, self.limit)
                    self._successes = 0
            # Wake as many waiters as there are new places: waking them all (a hundred threads waiting for
            # a call's place) on every call would spend the interpreter on threads that go back to sleep.
            self._cond.notify(1 + max(0, self.limit - before))

    def throttled(self, _wait: float = 0.0) -> None:
        with self._cond:
            self.throttles += 1
            self.slow_start = False
            self.limit = max(self.minimum, self.limit // 2)
            self._successes = 0


@dataclass(slots=True)
class Result:
    """What became of one planned action."""

    plan: Plan
    status: str
    action: str
    error: ConnectorError | None = None
    account: Account | None = None
    target_id: str = ""
    target_label: str = ""
    exported: dict = field(default_factory=dict)
    duration_ms: int = 0
    #: a passing failure: escrow the object for a later cycle
    transient: bool = False
    #: the link must be dropped (the target object vanished)
    unlink: bool = False
    #: added to the log row's Perform action step (how a result was established)
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (LogStatus.SUCCESS, LogStatus.WARNING)


def _exported(values: dict, members_attribute: str) -> dict:
    return {k: v for k, v in values.items() if k != members_attribute}


def _retrying(call: Callable, sleep: Callable[[float], None], attempts: int = 2):
    """Retry a passing failure once more within the cycle, after the connector's own retries."""
    for attempt in range(attempts):
        try:
            return call()
        except TransientError:
            if attempt == attempts - 1:
                raise
            sleep(1.0 + attempt)


#: with calls bounded one by one, how many writes per place in the limit may be under way: a Dropbox add
#: spends about 30 ms in each of its two calls and 200 ms or more waiting for its job in between
CALLS_PER_WRITE = 4


class Executor:
    """Sends planned writes to the target."""

    #: how a write waits before it is tried again in the cycle (tests replace it rather than wait)
    sleep = staticmethod(time.sleep)

    def __init__(self, target: TargetConnector, config: EngineConfig, *, max_workers: int = 24,
                 initial: int = 8, should_stop: Callable[[], bool] = lambda: False,
                 sleep: Callable[[float], None] | None = None, limit: AdaptiveLimit | None = None):
        self.target = target
        self.config = config
        #: ``limit``: one shared with other executors (see :mod:`.shards`)
        self.limit = limit or AdaptiveLimit(initial=initial, maximum=max_workers)
        self.max_workers = max_workers
        self.should_stop = should_stop
        if sleep is not None:
            self.sleep = sleep
        #: the error that stopped execution (rejected credentials), raised once the work in flight is recorded
        self.fatal: CredentialsError | None = None
        target.on_rate_limit = self.limit.throttled
        #: whether the target holds each call in the limit itself (then writes are not bounded as a whole)
        self.per_call = hasattr(target, "call_limit")
        if self.per_call:
            target.call_limit = self.limit
        #: threads sending writes: with calls bounded one by one, more, as most of a write's time can be
        #: spent waiting for its async job rather than in a call
        self.threads = max_workers * CALLS_PER_WRITE if self.per_call else max_workers
        self._users = UserWrites(self)
        self._groups = GroupWrites(self)

    def retrying(self, call: Callable):
        return _retrying(call, self.sleep)

    # ------------------------------------------------------------------ scheduling
    def run(self, plans: Iterable[Plan]) -> Iterator[Result]:
        """Execute plans; yield results as they complete (in this thread). Stops taking new work
        when ``should_stop`` says so or the credentials are rejected, and always drains the work in
        flight, so every write that reached the target comes back as a result."""
        units = self._units(plans)
        pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="target")
        try:
            in_flight: set[Future] = set()
            exhausted = False
            while True:
                while not exhausted and len(in_flight) < self.threads + self.max_workers:
                    unit = None if (self.fatal is not None or self.should_stop()) else next(units, None)
                    if unit is None:
                        exhausted = True
                        break
                    # In a copy of this thread's context: log lines of the write name the cycle.
                    in_flight.add(pool.submit(contextvars.copy_context().run, self._guarded, unit))
                if not in_flight:
                    return
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    yield from future.result()
        finally:
            # Whoever stops reading the results (a lost database, say) stops the writes not yet
            # begun; those already sent finish (their announced writes say what they were).
            pool.shutdown(wait=True, cancel_futures=True)

    def _units(self, plans: Iterable[Plan]) -> Iterator[list[Plan]]:
        """One write per unit, except creates of accounts, which go as many per call as the target takes."""
        size = self.target.schema.create_batch_size
        creates: list[Plan] = []
        for plan in plans:
            if plan.object_type == ObjectType.USER and plan.action == Action.CREATE:
                creates.append(plan)
                if len(creates) == size:
                    yield creates
                    creates = []
            else:
                yield [plan]
        if creates:
            yield creates

    def _guarded(self, unit: list[Plan]) -> list[Result]:
        if self.per_call:
            return self._execute(unit)
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
                results = self._users.create(unit)
            elif first.object_type == ObjectType.USER:
                results = [self._users.act(first)]
            else:
                results = [self._groups.act(first)]
        except CredentialsError as exc:
            # Every further call would fail the same way: stop taking work, keep what is done,
            # and retry these objects once the credentials are fixed.
            self.fatal = exc
            results = [Result(plan, LogStatus.FAILURE, plan.action, error=exc, transient=True,
                              target_id=plan.target_id, target_label=plan.target_label) for plan in unit]
        except ConnectorError as exc:
            results = [failure(plan, exc) for plan in unit]
        elapsed = int((time.monotonic() - started) * 1000)
        for result in results:
            result.duration_ms = result.duration_ms or elapsed
        return results


def failure(plan: Plan, exc: ConnectorError) -> Result:
    return Result(plan, LogStatus.FAILURE, plan.action, error=exc, transient=isinstance(exc, TransientError),
                  target_id=plan.target_id, target_label=plan.target_label,
                  unlink=isinstance(exc, NotFoundError) and plan.object_type == ObjectType.USER)


class _Writes:
    def __init__(self, executor: Executor):
        self.executor = executor

    @property
    def target(self) -> TargetConnector:
        return self.executor.target


class UserWrites(_Writes):
    """Creates, updates, enables, disables and removals of accounts."""

    def _exported(self, values: dict) -> dict:
        return _exported(values, self.target.schema.groups.members_attribute)

    def create(self, plans: list[Plan]) -> list[Result]:
        active, welcome = self.target.schema.users.active_attribute, self.executor.config.send_welcome_email
        new = [NewAccount(values={k: v for k, v in p.values.items() if k != active}, send_welcome_email=welcome)
               for p in plans]
        try:
            outcomes = self.executor.retrying(lambda: self.target.create_batch(new))
        except BadDataError:
            if len(plans) == 1:
                raise
            # The target refused the whole call because of one account: send them one by one,
            # so only the account at fault fails.
            results = []
            for plan in plans:
                try:
                    results += self.create([plan])
                except BadDataError as exc:
                    results.append(failure(plan, exc))
            return results
        return [self._created(plan, outcome) for plan, outcome in zip(plans, outcomes)]

    def _created(self, plan: Plan, outcome: CreateOutcome) -> Result:
        if outcome.kind == CreateOutcome.CREATED:
            return Result(plan, LogStatus.SUCCESS, Action.CREATE, account=outcome.account,
                          target_id=outcome.account.id, target_label=outcome.account.label,
                          exported=self._exported(plan.values))
        if outcome.kind == CreateOutcome.EXISTS:
            return self._link_existing(plan)
        error = BadDataError(outcome.message, code=outcome.code, field=outcome.field, service=self.target.names.service,
                             recommendation=outcome.recommendation or None)
        return Result(plan, LogStatus.FAILURE, Action.CREATE, error=error,
                      transient=outcome.kind == CreateOutcome.RETRY_LATER)

    def _link_existing(self, plan: Plan) -> Result:
        """The target says the account already exists: look it up, link it, bring it up to date."""
        schema, names = self.target.schema.users, self.target.names
        key = (schema.key_attribute, plan.values[schema.key_attribute])
        account = self.target.find([key])[key]
        if account is None:
            return Result(plan, LogStatus.FAILURE, Action.CREATE, transient=True, error=TransientError(
                f"{names.service} reported the user already on the team but could not find it.",
                service=names.service, code="TargetAccountNotFound"))
        plan.target_id, plan.target_label, plan.newly_linked = account.id, account.label, True
        plan.matched_by = schema.key_attribute
        protected = account.id == self.executor.config.protected_account_id
        changes = schema.changes(plan.values, account.values)
        action = Action.OTHER
        plan.changes = []
        if changes and self.executor.config.users.allow_update and not protected:
            self._update(account.id, changes)
            plan.changes, action = changes, Action.UPDATE
        plan.reason = f"The user was already a member of the {names.container}; it is now linked."
        if account.status == AccountStatus.SUSPENDED and not protected:
            self.target.enable(account.id)
            action = Action.ENABLE
        return Result(plan, LogStatus.SUCCESS, action, account=account, target_id=account.id,
                      target_label=account.label, exported=self._exported(plan.values))

    def _update(self, account_id: str, changes) -> None:
        new = {name: value for name, _, value in changes}
        self.executor.retrying(lambda: self.target.update(account_id, new))

    def act(self, plan: Plan) -> Result:
        account_id, config = plan.target_id, self.executor.config
        if plan.action == Action.UPDATE:
            self._update(account_id, plan.changes)
        elif plan.action == Action.ENABLE:
            self.executor.retrying(lambda: self.target.enable(account_id))
            if plan.changes:
                self._update(account_id, plan.changes)
        elif plan.action == Action.DISABLE:
            self.executor.retrying(lambda: self.target.disable(account_id,
                                                               wipe_devices=config.wipe_devices_on_disable))
        elif plan.action == Action.DELETE:
            options = removal_options(config, account_id, withdrawn_invitation=plan.remove_instead)
            self.executor.retrying(lambda: self.target.remove(account_id, options))
            return Result(plan, LogStatus.SUCCESS, plan.action, target_id=account_id, target_label=plan.target_label,
                          exported=self._exported(plan.values) if plan.values else {},
                          note=_removal_note(options, self.target.names))
        return Result(plan, LogStatus.SUCCESS, plan.action, target_id=account_id, target_label=plan.target_label,
                      exported=self._exported(plan.values) if plan.values else {})


def removal_options(config: EngineConfig, account_id: str, *, withdrawn_invitation: bool = False) -> RemoveOptions:
    """How the Settings remove a member: kept as an account of its own, or deleted with its files moved to
    the chosen admin; its devices wiped only if asked. A withdrawn invitation has no files or account."""
    if withdrawn_invitation:
        return RemoveOptions(wipe_data=False)
    keep = config.keep_account_on_remove
    transfer = None if keep or config.transfer_files_to == account_id else (config.transfer_files_to or None)
    return RemoveOptions(wipe_data=config.wipe_devices_on_remove and not keep, transfer_to=transfer,
                         keep_account=keep)


def _removal_note(options: RemoveOptions, names) -> str:
    said = []
    if options.keep_account:
        said.append(f"The account is kept as a {names.service} account of its own, off the {names.container}.")
    if options.transfer_to:
        said.append("Its files were moved to the admin chosen in the Settings.")
    if options.wipe_data:
        said.append("Its devices are wiped.")
    return " ".join(said)


class GroupWrites(_Writes):
    """Creates, renames, membership changes and deletions of groups."""

    def act(self, plan: Plan) -> Result:
        if plan.action == Action.CREATE:
            return self._create(plan)
        retrying, target = self.executor.retrying, self.target
        if plan.action == Action.UPDATE:
            renamed = {name: new for name, _, new in plan.changes if name != "members"}
            if renamed:
                retrying(lambda: target.update_group(plan.target_id, renamed))
            retrying(lambda: target.add_group_members(plan.target_id, plan.add_members))
            retrying(lambda: target.remove_group_members(plan.target_id, plan.remove_members))
        elif plan.action == Action.DELETE:
            retrying(lambda: target.delete_group(plan.target_id))
        return Result(plan, LogStatus.SUCCESS, plan.action, target_id=plan.target_id, target_label=plan.target_label,
                      exported=dict(plan.values) if plan.values else {})

    def _create(self, plan: Plan) -> Result:
        schema = self.target.schema.groups
        name_attribute = schema.name_attribute
        values = {k: v for k, v in plan.values.items() if k != schema.members_attribute}
        values[name_attribute] = values.get(name_attribute) or plan.display_name
        try:
            group = self.executor.retrying(lambda: self.target.create_group(values))
        except ConflictError:
            # Created by an earlier, interrupted run (or by hand): link it rather than fail.
            name = values[name_attribute].lower()
            group = next((g for g in self.target.iter_groups()
                          if (g.values.get(name_attribute) or "").lower() == name), None)
            if group is None:
                raise
            plan.newly_linked, plan.matched_by = True, name_attribute
        plan.target_id, plan.target_label = group.id, group.label
        self.executor.retrying(lambda: self.target.add_group_members(group.id, plan.add_members))
        return Result(plan, LogStatus.SUCCESS, Action.CREATE, target_id=group.id, target_label=group.label,
                      exported=dict(plan.values))
