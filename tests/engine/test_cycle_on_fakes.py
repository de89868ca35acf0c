"""Whole cycles, phase after phase, on the in-memory directory and Example
target: what each kind of cycle reads, plans, writes and records. The database
is real (links, logs, snapshots); the services are fakes, so each test runs in
well under a second. The emulator and worker tests cover HTTP and processes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from provisioning.constants import Action, CycleKind, LogStatus, ObjectType
from provisioning.engine.cycle import Cycle, DeltaLinks
from provisioning.engine.safety import DeletePermit
from provisioning.engine.store import Store
from provisioning.models import ObjectLink, ProvisioningLog, SourceAssignment, SourceMembership, SyncCycle
from provisioning.targets.base import AccountStatus
from tests.fakes import FakeDirectory, FakeTarget, engine_config, rules

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def world(application):
    """A directory of five users, three assigned directly and two through a group; an empty team."""
    directory, target = FakeDirectory(), FakeTarget()
    for n in range(1, 6):
        directory.add_user(f"u{n}", f"user{n}@example.org")
    directory.add_group("g1", "Sales", ["u4", "u5"])
    for uid in ("u1", "u2", "u3"):
        directory.assign(uid)
    directory.assign("g1", kind="Group")
    return application.job, directory, target


class Runner:
    """Runs cycles as the runner does: the delta links and snapshot of one are the start of the next."""

    def __init__(self, job, directory, target, *, max_workers: int = 24, **config):
        self.job, self.directory, self.target = job, directory, target
        self.config = engine_config(**config)
        self.delta = DeltaLinks()
        self.max_workers = max_workers

    def __call__(self, kind: str = CycleKind.INCREMENTAL, *, permit: DeletePermit = DeletePermit(),
                 dry_run: bool = False):
        cycle = SyncCycle.objects.create(job=self.job, kind=kind)
        store = Store(self.job, None if dry_run else cycle, read_only=dry_run)
        outcome = Cycle(self.config, self.directory, self.target, store, kind=kind, delta=self.delta, permit=permit,
                        dry_run=dry_run, now=NOW, sleep=lambda _: None, max_workers=self.max_workers).run()
        if not dry_run:
            outcome.snapshot.commit(store)
            self.delta = outcome.delta
        return outcome, cycle


def logs(job, cycle, **filters):
    return list(ProvisioningLog.objects.filter(job=job, cycle_id=cycle.cycle_id, **filters).order_by("source_id"))


def test_an_initial_cycle_creates_the_users_in_scope_in_batches_and_records_each(world):
    job, directory, target = world
    run = Runner(job, directory, target)
    outcome, cycle = run(CycleKind.INITIAL)
    assert {a.label for a in target.accounts.values()} >= {f"user{n}@example.org" for n in range(1, 6)}
    assert target.create_calls == [3, 2], "five creates go as two calls of at most three"
    created = logs(job, cycle, action=Action.CREATE, status=LogStatus.SUCCESS)
    assert [log.source_id for log in created] == ["u1", "u2", "u3", "u4", "u5"]
    assert ObjectLink.objects.filter(job=job, object_type=ObjectType.USER).count() == 5
    assert set(SourceAssignment.objects.filter(job=job).values_list("principal_id", flat=True)) == \
        {"u1", "u2", "u3", "g1"}
    assert set(SourceMembership.objects.filter(job=job).values_list("member_id", flat=True)) == {"u4", "u5"}
    assert outcome.delta.users and outcome.delta.groups


def test_the_group_is_created_with_the_accounts_of_its_members(world):
    job, directory, target = world
    Runner(job, directory, target, groups=rules(ObjectType.GROUP))(CycleKind.INITIAL)
    [group] = target.groups.values()
    members = {target.accounts[a].label for a in target.members[group.id]}
    assert (group.label, members) == ("Sales", {"user4@example.org", "user5@example.org"})


def test_a_second_cycle_with_no_change_writes_and_logs_nothing(world):
    job, directory, target = world
    run = Runner(job, directory, target)
    run(CycleKind.INITIAL)
    target.writes.clear()
    outcome, cycle = run()
    assert target.writes == [] and outcome.counters == {} and logs(job, cycle) == []


def test_an_incremental_cycle_acts_only_on_what_changed(world):
    job, directory, target = world
    run = Runner(job, directory, target)
    run(CycleKind.INITIAL)
    target.accept_invitations()
    target.writes.clear()
    directory.change_user("u2", givenName="Renamed")
    directory.add_user("u6", "user6@example.org")
    directory.add_member("g1", "u6")
    directory.remove_member("g1", "u5")
    outcome, cycle = run()
    assert sorted(m for m, _ in target.writes) == ["create", "disable", "update"]
    assert [(log.source_id, log.action) for log in logs(job, cycle)] == [
        ("u2", Action.UPDATE), ("u5", Action.DISABLE), ("u6", Action.CREATE)]
    assert target.by_email("user5@example.org").status == AccountStatus.SUSPENDED


def test_an_account_that_already_exists_is_linked_and_brought_up_to_date(world):
    job, directory, target = world
    existing = target.add_account("user1@example.org", givenName="Old", status=AccountStatus.SUSPENDED)
    run = Runner(job, directory, target)
    outcome, cycle = run(CycleKind.INITIAL)
    [log] = logs(job, cycle, source_id="u1")
    assert (log.action, log.target_id) == (Action.ENABLE, existing.id)
    assert existing.values["givenName"] == "User1" and existing.status == AccountStatus.ACTIVE
    assert ObjectLink.objects.get(job=job, source_id="u1").target_id == existing.id


def test_deletions_over_the_threshold_are_staged_and_run_once_allowed(world):
    job, directory, target = world
    run = Runner(job, directory, target, deletion_threshold=2)
    run(CycleKind.INITIAL)
    target.accept_invitations()
    for uid in ("u1", "u2", "u3"):
        directory.unassign(uid)
    target.writes.clear()
    outcome, cycle = run()
    assert outcome.staged == 3 and "more than the accidental-deletion threshold of 2" in outcome.staged_reason
    assert target.writes == [], "nothing destructive was written"
    assert {log.action for log in logs(job, cycle)} == {Action.STAGED_DISABLE}
    too_few = DeletePermit(allowed=True, limit=2)
    outcome, _ = run(CycleKind.FULL, permit=too_few)
    assert outcome.staged == 3 and "more than the 2 an administrator allowed" in outcome.staged_reason
    outcome, cycle = run(CycleKind.FULL, permit=DeletePermit(allowed=True, limit=3))
    assert outcome.staged == 0 and [m for m, _ in target.writes].count("disable") == 3


def test_an_empty_read_of_the_tenant_is_never_everyone_leaving(world):
    job, directory, target = world
    run = Runner(job, directory, target)
    run(CycleKind.INITIAL)
    target.accept_invitations()
    directory.assignments.clear()
    target.writes.clear()
    outcome, _ = run()
    assert "returned no assignments" in outcome.staged_reason and target.writes == []
    outcome, _ = run(CycleKind.FULL)
    assert "returned no users in scope" in outcome.staged_reason and target.writes == []


def test_a_dry_run_plans_everything_and_writes_nowhere(world):
    job, directory, target = world
    outcome, _ = Runner(job, directory, FakeTarget(dry_run=True))(CycleKind.INITIAL, dry_run=True)
    assert {p.source_id: p.action for p in outcome.plans if p.object_type == ObjectType.USER} == \
        {f"u{n}": Action.CREATE for n in range(1, 6)}
    assert not ObjectLink.objects.exists() and not ProvisioningLog.objects.exists()
    assert not SourceAssignment.objects.exists()


def test_a_soft_deleted_user_is_suspended_and_a_hard_deleted_one_removed(world):
    job, directory, target = world
    run = Runner(job, directory, target)
    run(CycleKind.INITIAL)
    target.accept_invitations()
    directory.delete_user("u1")
    directory.delete_user("u2", permanently=True)
    outcome, cycle = run()
    assert [(log.source_id, log.action, log.error_code) for log in logs(job, cycle)] == [
        ("u1", Action.DISABLE, ""), ("u2", Action.DELETE, "")]
    assert not ObjectLink.objects.filter(job=job, source_id="u2").exists()


def test_provision_on_demand_uses_the_same_pipeline_and_logs_every_step(world):
    from provisioning.engine.ondemand import OnDemand

    job, directory, target = world
    reported = []
    log_ids = OnDemand(job, source=directory, target=target,
                       report=lambda identity, item: reported.append((identity, item["name"], item["status"]))
                       ).provision(ObjectType.USER, "u1")
    assert [name for _, name, _ in reported] == ["Import user", "Determine if user is in scope",
                                                 "Match user between source and target system", "Perform action"]
    assert reported[-1] == ("user1@example.org", "Perform action", LogStatus.SUCCESS)
    [log] = ProvisioningLog.objects.filter(pk__in=log_ids)
    assert (log.action, log.initiated_by) == (Action.CREATE, "Provision on demand")
    assert target.by_email("user1@example.org") is not None


# ---------------------------------------------------------------------------- every write accounted for
class LostDatabase:
    """Store.record fails from the n-th call on, as when the database connection is terminated."""

    def __init__(self, monkeypatch, after: int):
        from django.db import OperationalError

        original, calls = Store.record, [0]

        def record(store, results, *args, **kwargs):
            if results:
                calls[0] += 1
                if calls[0] > after:
                    raise OperationalError("terminating connection due to administrator command")
            return original(store, results, *args, **kwargs)

        monkeypatch.setattr(Store, "record", record)
        self.restore = lambda: monkeypatch.setattr(Store, "record", original)


def test_writes_whose_answers_were_lost_are_confirmed_by_the_next_cycle(world, monkeypatch):
    from provisioning.engine.record import DatabaseLost
    from provisioning.models import PendingWrite

    from provisioning.engine import record

    job, directory, target = world
    directory.add_assigned_users(range(6, 60))
    monkeypatch.setattr(record, "RECORD_EVERY", 10)
    monkeypatch.setattr(record, "ANNOUNCE_EVERY", 10)
    lost = LostDatabase(monkeypatch, after=0)
    with pytest.raises(DatabaseLost):
        Runner(job, directory, target, max_workers=2)(CycleKind.INITIAL)
    created = {a.label for a in target.accounts.values()} - {"admin@example.org"}
    assert created, "some creates reached the target before the database went away"
    assert len(created) < 59, "it stopped writing: what was not yet sent never was"
    announced = {p.plan["values"]["email"] for p in PendingWrite.objects.filter(job=job)}
    assert created <= announced, "every write was announced before it was sent"
    lost.restore()
    target.writes.clear()
    outcome, cycle = Runner(job, directory, target)(CycleKind.FULL)
    rows = {log.source_id: log for log in ProvisioningLog.objects.filter(job=job, action=Action.CREATE)}
    confirmed = {uid for uid, log in rows.items() if "Confirmed after the run that sent it stopped" in
                 log.steps[-1]["description"]}
    assert {target.accounts[ObjectLink.objects.get(job=job, source_id=uid).target_id].label for uid in confirmed} \
        == created, "each write that reached the target has its Create row, under the cycle that made it"
    assert all(rows[uid].cycle_id != cycle.cycle_id and rows[uid].status == LogStatus.SUCCESS for uid in confirmed)
    assert len([m for m, _ in target.writes if m == "create"]) == 59 - len(created), "the rest are created once"
    assert not PendingWrite.objects.filter(job=job).exists()
    assert ObjectLink.objects.filter(job=job, object_type=ObjectType.USER).count() == 59


def test_a_write_that_never_landed_is_logged_as_a_failure_and_tried_again(world):
    from provisioning.engine.types import Plan, plan_to_json
    from provisioning.models import PendingWrite

    job, directory, target = world
    run = Runner(job, directory, target)
    run(CycleKind.INITIAL)
    target.accept_invitations()
    link = ObjectLink.objects.get(job=job, source_id="u1")
    stopped = SyncCycle.objects.create(job=job, kind=CycleKind.INCREMENTAL, status="interrupted")
    plan = Plan(ObjectType.USER, Action.UPDATE, "u1", display_name="user1", target_id=link.target_id,
                changes=[("givenName", "User1", "Renamed")], values={"givenName": "Renamed"},
                change_id="8c7f0a6e-0000-4000-8000-000000000001")
    PendingWrite.objects.create(job=job, cycle_id=stopped.cycle_id, change_id=plan.change_id, object_type="user",
                                source_id="u1", action=Action.UPDATE, plan=plan_to_json(plan))
    run()
    log = ProvisioningLog.objects.get(change_id=plan.change_id)
    assert (log.action, log.status, log.error_code, log.cycle_id) == (Action.UPDATE, LogStatus.FAILURE,
                                                                       "WriteNotConfirmed", stopped.cycle_id)
    stopped.refresh_from_db()
    assert stopped.counters == {Action.UPDATE: {LogStatus.FAILURE: 1}}


def test_a_group_whose_members_read_empty_keeps_its_members(world):
    job, directory, target = world
    run = Runner(job, directory, target, groups=rules(ObjectType.GROUP))
    run(CycleKind.INITIAL)
    [group] = target.groups.values()
    assert len(target.members[group.id]) == 2
    directory.memberships["g1"] = set()  # a bad read: the group "has" no members
    target.writes.clear()
    outcome, cycle = run(CycleKind.FULL)
    assert len(target.members[group.id]) == 2, "no member is removed after an empty read"
    assert not any(m == "remove_group_members" for m, _ in target.writes)
    assert outcome.staged and "no members" in outcome.staged_reason
    [log] = logs(job, cycle, object_type=ObjectType.GROUP)
    assert (log.action, log.error_code) == (Action.SKIP, "StagedMemberRemovals")


def test_no_group_is_deleted_or_emptied_after_an_empty_assignments_read(world):
    job, directory, target = world
    run = Runner(job, directory, target, groups=rules(ObjectType.GROUP))
    run(CycleKind.INITIAL)
    target.accept_invitations()
    directory.assignments.clear()
    target.writes.clear()
    outcome, _ = run()
    assert target.writes == [] and len(target.groups) == 1
    assert "returned no assignments" in outcome.staged_reason


def test_members_of_staged_users_stay_in_their_groups_even_if_already_suspended(world):
    job, directory, target = world
    run = Runner(job, directory, target, groups=rules(ObjectType.GROUP), deletion_threshold=1)
    run(CycleKind.INITIAL)
    target.accept_invitations()
    [group] = target.groups.values()
    target.by_email("user4@example.org").status = AccountStatus.SUSPENDED  # suspended by hand
    directory.remove_member("g1", "u4")
    directory.remove_member("g1", "u5")
    directory.unassign("u1")
    target.writes.clear()
    outcome, _ = run()
    assert outcome.staged >= 2 and target.writes == []
    assert len(target.members[group.id]) == 2
