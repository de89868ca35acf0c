"""The full read: users, and beside them the groups and their members (several member reads at once), give
exactly what one read after the other would; a failure on either side stops both and is the one raised.
A cycle plans each user as it arrives, while the rest are still being read, and a stop stops that read."""

from __future__ import annotations

import threading

import pytest

from provisioning.connectors.errors import TransientError
from provisioning.constants import Action, CycleKind, ObjectType
from provisioning.engine import pipeline as pipeline_module
from provisioning.engine.reading import SourceReader
from provisioning.engine.store import StopRequested, Store
from provisioning.models import ObjectLink, ProvisioningLog
from tests.engine.test_cycle_on_fakes import Runner
from tests.fakes import FakeDirectory, FakeTarget, engine_config


def directory(groups: int = 65, users: int = 650) -> FakeDirectory:
    source = FakeDirectory()
    for n in range(users):
        source.add_user(f"u{n}", f"user{n}@contoso.com")
    for g in range(groups):
        source.add_group(f"g{g}", f"Group {g}", members=[f"u{n}" for n in range(users) if n % groups == g or n < 3])
        source.assign(f"g{g}", kind="Group")
    return source


def reader(source, **kwargs) -> SourceReader:
    kwargs.setdefault("progress", lambda phase: None)
    kwargs.setdefault("checkpoint", lambda: None)
    return SourceReader(source, engine_config(), **kwargs)


def test_groups_and_members_read_beside_the_users_are_all_there():
    source = directory()
    read = reader(source).full()
    assert set(read.users) == set(source.users)
    assert set(read.groups) == set(source.groups)
    assert {gid: read.memberships.users.get(gid, set()) for gid in source.groups} == source.memberships
    assert read.user_delta_link and read.group_delta_link


def test_a_failed_group_read_is_raised_from_the_read():
    source = directory()
    calls = []

    def failing(group_ids):
        calls.append(list(group_ids))
        raise TransientError("Microsoft Graph kept failing 20 requests of a $batch.", service="Microsoft Graph")

    source.member_ids_of_groups = failing
    with pytest.raises(TransientError, match="kept failing"):
        reader(source).full()
    assert calls


def test_a_stop_during_the_users_read_stops_the_groups_read_and_is_what_is_raised():
    source = directory(groups=400, users=10_000)  # 20 reads of members, 4 at a time
    started, member_reads = threading.Event(), []
    member_ids = source.member_ids_of_groups

    def slow(group_ids):
        started.set()
        member_reads.append(1)
        threading.Event().wait(0.05)
        return member_ids(group_ids)

    source.member_ids_of_groups = slow

    def checkpoint():
        assert started.wait(5)
        raise StopRequested()

    with pytest.raises(StopRequested):
        reader(source, checkpoint=checkpoint).full()
    assert len(member_reads) < 10, "the members of the other groups were not read"


@pytest.fixture
def tenant(application):
    return application.job, FakeDirectory.of_assigned_users(300), FakeTarget()


def test_users_are_planned_as_they_arrive_while_the_rest_are_still_being_read(tenant, monkeypatch):
    job, source, target = tenant
    planning = threading.Event()
    everyone = source.iter_users

    def slow_read(select=()):
        users = list(everyone(select))
        yield from users[:10]
        assert planning.wait(10), "planning waited for the whole read"
        yield from users[10:]

    source.iter_users = slow_read
    plan_user = pipeline_module.plan_user

    def planned(*args, **kwargs):
        planning.set()
        return plan_user(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "plan_user", planned)
    Runner(job, source, target)(CycleKind.INITIAL)
    assert ObjectLink.objects.filter(job=job, object_type=ObjectType.USER).count() == 300
    created = ProvisioningLog.objects.filter(job=job, action=Action.CREATE).values_list("source_id", flat=True)
    assert sorted(created) == [f"u{n:03}" for n in range(300)], "each once"


def test_a_stop_while_users_are_planned_stops_the_read_still_under_way(tenant, monkeypatch):
    job, source, target = tenant
    given, stopped = [], threading.Event()
    everyone = source.iter_users

    def endless_read(select=()):
        try:
            users = list(everyone(select))
            yield from users[:10]
            threading.Event().wait(1.5)  # nothing comes for a while: the planning side checks for a stop
            for n in range(100_000):
                given.append(n)
                yield {**users[0], "id": f"x{n}"}
                threading.Event().wait(0.001)
        finally:
            stopped.set()

    source.iter_users = endless_read
    checkpoint = Store.checkpoint

    def stop_once_planning(self):
        if self.phase == "Planning":
            raise StopRequested()
        return checkpoint(self)

    monkeypatch.setattr(Store, "checkpoint", stop_once_planning)
    with pytest.raises(StopRequested):
        Runner(job, source, target)(CycleKind.INITIAL)
    assert stopped.wait(5), "the users' read stopped"
    assert len(given) < 1000
    assert not ObjectLink.objects.filter(job=job).exists(), "nothing was written"
