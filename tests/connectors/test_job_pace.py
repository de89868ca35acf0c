"""Async jobs are looked at about when they are done: the pace learnt from the
answers, and what it saves against the Dropbox emulator through the real SDK."""

from __future__ import annotations

import pytest

from provisioning.connectors.calls import JobPace
from provisioning.targets.base import NewAccount
from tests.services import dropbox_connector


def test_a_job_done_at_the_first_look_makes_the_next_first_look_sooner():
    pace = JobPace(initial=1.0, floor=0.1)
    pace.finished(1.0, looks=1)
    assert pace.first_wait() == pytest.approx(0.9)
    for _ in range(50):
        pace.finished(0.5, looks=1)
    assert pace.first_wait() == pytest.approx(0.1)  # never below the floor


def test_a_job_still_running_at_the_first_look_moves_the_estimate_towards_its_duration():
    pace = JobPace(initial=0.2, ceiling=3.0)
    pace.finished(1.0, looks=3)
    assert pace.first_wait() == pytest.approx(0.6)
    for _ in range(20):
        pace.finished(10.0, looks=9)
    assert pace.first_wait() == pytest.approx(3.0)  # never above the ceiling
    assert pace.jobs == 21 and pace.looks == 3 + 20 * 9


def test_looks_after_a_first_early_one_come_soon_then_back_off():
    pace = JobPace(initial=0.4, floor=0.02)
    second = pace.next_wait(0.4, looks=1)
    assert second == pytest.approx(0.1)
    assert pace.next_wait(second, looks=2) == pytest.approx(0.15)
    assert pace.next_wait(1.9, looks=5) == 2.0


def test_adding_members_looks_at_each_job_about_once(dbx, refresh_token):
    """Sequential batches of six (asynchronous at Dropbox) with jobs that take 0.1 s: answering
    at once and again after 0.2 s would take two looks per job; learning the pace takes about one."""
    dbx.configure(async_job_seconds=0.1)
    connector = dropbox_connector(refresh_token)
    dbx.reset_stats()
    batches = 12
    for b in range(batches):
        outcomes = connector.create_batch([NewAccount({"email": f"pace.{b}.{i}@contoso.com", "givenName": "P",
                                                       "surname": f"S{i}"}) for i in range(6)])
        assert [o.kind for o in outcomes] == ["created"] * 6
    requests = dbx.stats()["requests"]
    assert requests["POST /2/team/members/add_v2"] == batches
    looks = requests["POST /2/team/members/add/job_status/get_v2"]
    assert batches <= looks <= batches + 4
