"""What a large cycle keeps small: a full cycle keeps a tenant's attributes
and plans in a scratch file, not in memory (what comes back is what went in, in
order; destructive plans stay objects so that staging still changes them; a
shard's share is every n-th write; the file is gone once the cycle is over,
whether it ends well or not), and the announced writes' table is vacuumed as a
large phase goes."""

from __future__ import annotations

import os
import tempfile

import pytest
from django.db import DatabaseError, connection
from django.db.backends.utils import CursorWrapper

from provisioning.constants import Action, CycleKind, LogStatus, ObjectType
from provisioning.engine import record as record_module
from provisioning.engine import store as store_module
from provisioning.engine.cycle import Cycle
from provisioning.engine.spill import SpilledPlans, SpilledUsers, quiet_of, writes_of
from provisioning.engine.store import Store
from provisioning.engine.types import Plan, step
from provisioning.models import ObjectLink, PendingWrite, ProvisioningLog, SyncCycle
from tests.conftest import require
from tests.engine.test_cycle_on_fakes import NOW, Runner, world  # noqa: F401  (the fixture)
from tests.fakes import engine_config


@pytest.fixture
def scratch_files():
    """The unnamed temporary files this process opened during the test and still holds open (the cycle's
    scratch files are such files; pytest's own captures, open before, are not counted)."""
    before = _unnamed_files()
    return lambda: _unnamed_files() - before


def _unnamed_files() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            name = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if name.startswith(tempfile.gettempdir()) and name.endswith("(deleted)"):
            found.add(name)
    return found


def test_users_come_back_as_they_were_read_and_the_file_goes_with_clear(scratch_files):
    users = SpilledUsers()
    read = [{"id": f"u{n}", "displayName": f"Ünïcode {n}", "accountEnabled": n % 2 == 0,
             "proxyAddresses": [f"smtp:u{n}@example.org"], "manager": None} for n in range(3000)]
    for user in read:
        users.add(user)
    assert len(users) == 3000 and "u2999" in users and "nobody" not in users
    assert list(users) == [u["id"] for u in read]
    assert users["u1234"] == read[1234]
    assert users.get("nobody") is None
    assert dict(users.items()) == {u["id"]: u for u in read}
    assert scratch_files()
    users.clear()
    assert len(users) == 0 and users.get("u1") is None
    assert not scratch_files(), "the file is closed (and, unnamed, gone)"


def plan(n: int, action: str = Action.CREATE) -> Plan:
    return Plan(ObjectType.USER, action, f"u{n:05}", display_name=f"User {n}", upn=f"u{n}@example.org",
                values={"email": f"u{n}@example.org", "given_name": "Ada"}, target_id="" if action == Action.CREATE
                else f"dbmid:{n}", changes=[("surname", "Old", "New")] if action == Action.UPDATE else [],
                steps=[step("Scope", "Success", "In scope.", assigned=True)], log=action != Action.SKIP)


def test_plans_come_back_in_order_and_destructive_ones_stay_objects(scratch_files):
    actions = [Action.CREATE, Action.SKIP, Action.UPDATE, Action.DISABLE, Action.DELETE, Action.CREATE]
    made = [plan(n, actions[n % len(actions)]) for n in range(600)]
    plans = SpilledPlans()
    for p in made:
        plans.append(p)
    assert len(plans) == 600
    assert plans.writes == sum(1 for p in made if p.writes)
    assert [p.source_id for p in plans] == [p.source_id for p in made]
    back = {p.source_id: p for p in plans}
    update = back["u00002"]
    assert update.changes == [("surname", "Old", "New")], "changes come back as tuples"
    assert update.values == made[2].values and update.steps == made[2].steps
    assert plans.kept == [p for p in made if p.destructive]
    assert back["u00003"] is made[3], "a disable is the very object: staging may change it"
    # staging turns a kept disable into a staged one: no longer a write, and seen so everywhere
    made[3].action = Action.STAGED_DISABLE
    assert "u00003" not in {p.source_id for p in writes_of(plans)}
    assert "u00003" in {p.source_id for p in quiet_of(plans)}
    assert plans.writes == sum(1 for p in made if p.writes)
    plans.close()
    assert not scratch_files()


def test_shares_of_the_writes_are_every_nth_and_together_all_of_them_once(scratch_files):
    made = [plan(n, (Action.CREATE, Action.SKIP, Action.DISABLE)[n % 3]) for n in range(1000)]
    plans = SpilledPlans()
    for p in made:
        plans.append(p)
    as_list = [[p.source_id for p in writes_of(made, start=i, step=3)] for i in range(3)]
    spilled = [[p.source_id for p in writes_of(plans, start=i, step=3)] for i in range(3)]
    assert spilled == as_list
    assert sorted(sum(spilled, [])) == sorted(p.source_id for p in made if p.writes)
    plans.close()


def test_nothing_is_added_once_the_plans_are_read(scratch_files):
    plans = SpilledPlans()
    plans.append(plan(1))
    plans.seal()
    with pytest.raises(RuntimeError, match="nothing more is written"):
        plans.append(plan(2))
    plans.close()


def test_a_full_cycle_leaves_no_scratch_file_and_logs_the_users_in_order(world, scratch_files):  # noqa: F811
    job, directory, target = world
    outcome, cycle = Runner(job, directory, target)(CycleKind.INITIAL)
    assert not scratch_files()
    created = ProvisioningLog.objects.filter(cycle_id=cycle.cycle_id, action=Action.CREATE,
                                             status=LogStatus.SUCCESS).order_by("id")
    assert [log.source_id for log in created] == ["u1", "u2", "u3", "u4", "u5"]


def test_a_full_cycle_that_fails_while_reading_leaves_no_scratch_file(world, scratch_files):  # noqa: F811
    job, directory, target = world

    def broken(*args, **kwargs):
        yield from ({"id": f"u{n}", "userPrincipalName": f"user{n}@example.org"} for n in (1, 2))
        raise ConnectionError("Graph went away in the middle of the users")

    directory.iter_users = broken
    cycle = SyncCycle.objects.create(job=job, kind=CycleKind.INITIAL)
    with pytest.raises(ConnectionError):
        Cycle(engine_config(), directory, target, Store(job, cycle), kind=CycleKind.INITIAL, now=NOW,
              sleep=lambda _: None).run()
    assert not scratch_files()
    assert [a.label for a in target.accounts.values()] == ["admin@example.org"], "nothing was created"


def vacuums_of_announced_writes() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = %s",
                       [PendingWrite._meta.db_table])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_large_phase_vacuums_the_announced_writes_as_it_goes_and_a_refused_vacuum_is_not_retried(
        world, monkeypatch, caplog):  # noqa: F811
    """The announced writes are a queue (a row in, the same row out, for every write): a phase of many writes
    vacuums their table every so many, so the dead rows never pile up, whatever autovacuum does."""
    require(connection.vendor == "postgresql", "PostgreSQL")
    job, directory, target = world
    directory.add_assigned_users(range(6, 40))
    monkeypatch.setattr(store_module, "VACUUM_PENDING_EVERY", 10)
    monkeypatch.setattr(record_module, "RECORD_EVERY", 5)
    before = vacuums_of_announced_writes()
    Runner(job, directory, target)(CycleKind.INITIAL)
    assert vacuums_of_announced_writes() - before >= 3, "39 writes, a vacuum every 10"
    assert not PendingWrite.objects.exists()

    refused = []

    def refuse(self, sql, *args, **kwargs):
        if sql.startswith("VACUUM"):
            refused.append(sql)
            raise DatabaseError("must be owner of table provisioning_pendingwrite")
        return execute(self, sql, *args, **kwargs)

    execute = CursorWrapper.execute
    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    directory.add_assigned_users(range(40, 80))
    Runner(job, directory, target)(CycleKind.FULL)
    assert len(refused) == 1, "tried once, then left to autovacuum"
    assert "Could not vacuum" in caplog.text and "autovacuum is left to do it" in caplog.text
    assert ObjectLink.objects.filter(job=job, object_type=ObjectType.USER).count() == 79
