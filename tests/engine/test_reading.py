"""The full read: users, and beside them the groups and their members (several member reads at once), give
exactly what one read after the other would; a failure on either side stops both and is the one raised."""

from __future__ import annotations

import threading

import pytest

from provisioning.connectors.errors import TransientError
from provisioning.engine.reading import SourceReader
from provisioning.engine.store import StopRequested
from tests.fakes import FakeDirectory, engine_config


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
