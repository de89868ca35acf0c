"""An incremental cycle sends the updates of users whose attributes alone changed while the rest of the
users' delta round is still being read; everything else (disables, deletes, creates, staging) waits for
the whole round. A user the round names again is brought up to date with both changes; a round that
fails half-way keeps what was sent, and the next cycle does not send it again."""

from __future__ import annotations

import threading

import pytest

from provisioning.connectors.errors import TransientError
from provisioning.constants import Action, CycleKind, LogStatus
from provisioning.models import ProvisioningLog
from provisioning.targets.base import AccountStatus
from tests.engine.test_cycle_on_fakes import Runner, logs
from tests.fakes import FakeDirectory, FakeTarget

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(application):
    """120 users assigned directly."""
    return application.job, FakeDirectory.of_assigned_users(120), FakeTarget()


def provisioned(tenant, **config) -> Runner:
    job, source, target = tenant
    run = Runner(job, source, target, **config)
    run(CycleKind.INITIAL)
    target.accept_invitations()
    target.writes.clear()
    return run


def slow_round(source: FakeDirectory, target: FakeTarget, *, first: int, fail_after: int | None = None):
    """The users' round gives ``first`` changes, then waits until the target got a write (or 10 s: the
    test then fails on what was written), then the rest; with ``fail_after``, it fails after so many."""
    written = threading.Event()
    write = target._write

    def noting(method, object_id):
        write(method, object_id)
        written.set()

    target._write = noting
    users_delta = source.users_delta
    waited = []

    def round_(**kwargs):
        given = users_delta(**kwargs)

        class Slow:
            delta_link = None

            def __iter__(self):
                for n, item in enumerate(given.items):
                    if n == first:
                        waited.append(written.wait(10))
                    if fail_after is not None and n == fail_after:
                        raise TransientError("Microsoft Graph answered 503.", service="Microsoft Graph")
                    yield item
                self.delta_link = given.final

        return Slow()

    source.users_delta = round_
    return waited


def account_of(target: FakeTarget, email: str):
    return next(a for a in target.accounts.values() if a.label == email)


def test_updates_go_out_while_the_rest_of_the_round_is_read_each_once(tenant):
    job, source, target = tenant
    run = provisioned(tenant)
    for n in range(120):
        source.change_user(f"u{n:03}", givenName=f"New{n}")
    waited = slow_round(source, target, first=10)

    outcome, cycle = run()

    assert waited == [True], "a write went out before the round was over"
    assert sorted(target.writes) == sorted(("update", account_of(target, f"user{n}@contoso.com").id)
                                           for n in range(120)), "each user updated once"
    assert all(account_of(target, f"user{n}@contoso.com").values["givenName"] == f"New{n}" for n in range(120))
    updated = logs(job, cycle, action=Action.UPDATE, status=LogStatus.SUCCESS)
    assert [log.source_id for log in updated] == [f"u{n:03}" for n in range(120)]
    assert outcome.counters[Action.UPDATE]["Success"] == 120
    assert outcome.delta.users.endswith(f":{len(source.changes)}"), "the round was read to its end"


def test_a_user_named_again_later_in_the_round_ends_with_both_changes(tenant):
    job, source, target = tenant
    run = provisioned(tenant)
    source.change_user("u000", givenName="Zoë")
    for n in range(1, 40):
        source.change_user(f"u{n:03}", givenName=f"New{n}")
    source.change_user("u000", surname="Müller")  # after the first write went out
    waited = slow_round(source, target, first=10)

    outcome, cycle = run()

    assert waited == [True]
    values = account_of(target, "user0@contoso.com").values
    assert (values["givenName"], values["surname"]) == ("Zoë", "Müller")
    assert outcome.counters[Action.UPDATE].get("Failure", 0) == 0
    updates = logs(job, cycle, source_id="u000", action=Action.UPDATE, status=LogStatus.SUCCESS)
    assert len(updates) == 2 and len({log.change_id for log in updates}) == 2, "each update has its own log row"
    again = run()[1]
    assert logs(job, again) == [], "nothing was left to do"


@pytest.mark.parametrize("permanently", [False, True])
def test_a_user_removed_after_its_update_and_after_the_round_is_in_is_still_removed(tenant, monkeypatch,
                                                                                    permanently):
    """Small batches: the removal comes in a batch taken once the round is in, after the user's update."""
    from provisioning.engine import reading

    monkeypatch.setattr(reading, "ARRIVALS_BATCH", 3)
    job, source, target = tenant
    run = provisioned(tenant)
    source.change_user("u000", givenName="Zoë")
    for n in range(1, 60):
        source.change_user(f"u{n:03}", givenName=f"New{n}")
    source.delete_user("u000", permanently=permanently)
    waited = slow_round(source, target, first=1)

    outcome, cycle = run()

    assert waited == [True]
    action = Action.DELETE if permanently else Action.DISABLE
    assert [log.status for log in logs(job, cycle, source_id="u000", action=action)] == [LogStatus.SUCCESS]
    assert account_of(target, "user0@contoso.com").status == (
        AccountStatus.REMOVED if permanently else AccountStatus.SUSPENDED)
    assert len(logs(job, cycle, action=Action.UPDATE, status=LogStatus.SUCCESS)) >= 59


def test_a_user_changed_and_removed_in_the_same_batch_is_removed(tenant):
    job, source, target = tenant
    run = provisioned(tenant)
    for n in range(1, 5):
        source.change_user(f"u{n:03}", givenName=f"New{n}")
    source.change_user("u000", givenName="Zoë")
    source.delete_user("u000")
    for n in range(5, 30):
        source.change_user(f"u{n:03}", givenName=f"New{n}")
    slow_round(source, target, first=20)  # the first twenty items, the change and removal among them, at once

    outcome, cycle = run()

    assert [log.status for log in logs(job, cycle, source_id="u000", action=Action.DISABLE)] == [LogStatus.SUCCESS]
    assert logs(job, cycle, source_id="u000", action=Action.UPDATE) == []
    assert outcome.counters[Action.UPDATE]["Success"] == 29


def test_disables_wait_for_the_whole_round_and_are_staged_over_the_threshold(tenant):
    job, source, target = tenant
    run = provisioned(tenant, deletion_threshold=2)
    for n in range(3):
        source.change_user(f"u{n:03}", accountEnabled=False)
    for n in range(3, 60):
        source.change_user(f"u{n:03}", givenName=f"New{n}")
    waited = slow_round(source, target, first=10)

    outcome, cycle = run()

    assert waited == [True], "the updates did not wait for the disables"
    assert outcome.staged == 3 and "more than the accidental-deletion threshold of 2" in outcome.staged_reason
    assert {method for method, _ in target.writes} == {"update"}, "nothing was disabled"
    assert [log.source_id for log in logs(job, cycle, action=Action.STAGED_DISABLE)] == ["u000", "u001", "u002"]
    assert len(logs(job, cycle, action=Action.UPDATE, status=LogStatus.SUCCESS)) == 57


def test_a_round_that_fails_half_way_keeps_what_was_sent_and_the_next_cycle_does_not_send_it_again(tenant):
    job, source, target = tenant
    run = provisioned(tenant)
    for n in range(80):
        source.change_user(f"u{n:03}", givenName=f"New{n}")
    slow_round(source, target, first=10, fail_after=40)

    with pytest.raises(TransientError, match="503"):
        run()

    sent = {object_id for method, object_id in target.writes}
    assert 1 <= len(sent) <= 40  # (the first batch taken may be any part of the first ten)
    logged = ProvisioningLog.objects.filter(job=job, action=Action.UPDATE, status=LogStatus.SUCCESS)
    assert logged.count() == len(sent), "each update sent has its log row, written before the error was raised"

    assert not [t for t in threading.enumerate() if t.name == "read-users" and t.is_alive()], "the read ended"

    source.users_delta = FakeDirectory.users_delta.__get__(source)
    target.writes.clear()
    outcome, cycle = run()
    updated = {object_id for _, object_id in target.writes}
    assert len(updated) == 80 - len(sent) and not updated & sent, "the rest, once, and nothing sent twice"
    assert all(account_of(target, f"user{n}@contoso.com").values["givenName"] == f"New{n}" for n in range(80))


def test_a_preview_of_an_incremental_cycle_writes_nothing(tenant):
    job, source, target = tenant
    run = provisioned(tenant)
    for n in range(30):
        source.change_user(f"u{n:03}", givenName=f"New{n}")
    outcome, _ = run(dry_run=True)
    assert target.writes == []
    assert len([p for p in outcome.plans if p.action == Action.UPDATE]) == 30



def test_the_updates_sent_early_count_towards_how_many_processes_send_the_rest(tenant, monkeypatch):
    """What is left once the round is in goes with the phase; how many processes send it is decided by
    all of the phase's writes, those sent early included."""
    from provisioning.engine import cycle as cycle_module

    job, source, target = tenant
    run = provisioned(tenant)
    for n in range(120):
        source.change_user(f"u{n:03}", givenName=f"New{n}")
    asked = []
    shard_count = cycle_module.shard_count

    def counting(writes):
        asked.append((writes, len(target.writes)))
        return shard_count(writes)

    monkeypatch.setattr(cycle_module, "shard_count", counting)
    slow_round(source, target, first=10)

    outcome, _ = run()

    assert outcome.counters[Action.UPDATE]["Success"] == 120 and len(set(target.writes)) == len(target.writes) == 120
    [(writes, sent_before)] = asked
    assert sent_before >= 1, "updates went out while the round was read"
    assert writes == 120, "the phase counted them with the rest"


def test_a_stop_while_updates_go_out_records_what_was_sent_and_ends_the_read(tenant, monkeypatch):
    from provisioning.engine.store import StopRequested, Store

    job, source, target = tenant
    run = provisioned(tenant)
    for n in range(120):
        source.change_user(f"u{n:03}", givenName=f"New{n}")
    slow_round(source, target, first=10)
    checkpoint = Store.checkpoint

    def stop_once_updating(self):
        if self.phase.startswith("Reading changed users") and target.writes:
            raise StopRequested()
        return checkpoint(self)

    monkeypatch.setattr(Store, "checkpoint", stop_once_updating)
    with pytest.raises(StopRequested):
        run()

    sent = [object_id for _, object_id in target.writes]
    assert sent and len(sent) == len(set(sent)) < 120
    logged = ProvisioningLog.objects.filter(job=job, action=Action.UPDATE, status=LogStatus.SUCCESS)
    assert logged.count() == len(sent), "every update sent has its log row"
    assert not [t for t in threading.enumerate() if t.name == "read-users" and t.is_alive()], "the read ended"
