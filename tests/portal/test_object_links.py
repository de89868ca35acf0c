"""Object links after a real cycle: how each link was made, its last action, the
filters; Unlink changes nothing in Dropbox, is audited, and the next cycle
matches the object again; readers may look, not unlink."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from provisioning.constants import Action, AuditActivity
from provisioning.models import AuditEvent, ObjectLink, ProvisioningLog

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROW = re.compile(r'<tr data-source-id="([^"]+)">')


@pytest.fixture
def started(job, run_cycle):
    run_cycle(job)
    return job


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def shown(response) -> list[str]:
    return ROW.findall(response.content.decode())


def test_the_page_lists_every_link_with_how_it_was_made(started, alice):
    client = client_of(alice)
    url = reverse("portal:links", args=[started.application_id])
    page = client.get(url)
    links = ObjectLink.objects.filter(job=started)
    assert set(shown(page)) == set(links.values_list("source_id", flat=True))  # the demo has fewer than 100
    made = dict(links.filter(object_type="user").values_list("source_id", "matched_by"))
    created = {sid for sid, how in made.items() if how == "created"}
    matched = {sid for sid, how in made.items() if how == "email"}  # members already on the demo team
    assert created and matched and created | matched == set(made)
    for source_id in created:
        assert ProvisioningLog.objects.filter(job=started, source_id=source_id, action=Action.CREATE).exists()
    one = links.filter(object_type="user", matched_by="created").first()
    row = client.get(url, {"q": one.user_principal_name}).content.decode()
    assert ROW.findall(row) == [one.source_id]
    assert "Create: Success" in row and "created" in row
    groups = client.get(url, {"type": "group"})
    assert set(shown(groups)) == set(links.filter(object_type="group").values_list("source_id", flat=True))


def test_unlink_forgets_the_link_and_the_next_cycle_matches_again(started, alice, dbx, run_cycle):
    link = ObjectLink.objects.filter(job=started, object_type="user").exclude(
        target_email=started.target_admin_email).first()
    writes_before = len(dbx.control("GET", "journal")["writes"])
    response = client_of(alice).post(reverse("portal:unlink", args=[started.application_id]),
                                     {"object_type": "user", "source_id": link.source_id}, follow=True)
    assert "is no longer linked to" in response.content.decode()
    assert not ObjectLink.objects.filter(pk=link.pk).exists()
    event = AuditEvent.objects.get(activity=AuditActivity.UNLINK)
    assert event.before["target_id"] == link.target_id and event.actor == alice
    assert len(dbx.control("GET", "journal")["writes"]) == writes_before  # nothing changed in Dropbox

    run_cycle(started, force_full=True)
    again = ObjectLink.objects.get(job=started, object_type="user", source_id=link.source_id)
    assert (again.target_id, again.matched_by) == (link.target_id, "email")


def test_readers_look_but_cannot_unlink(started, bob, alice):
    link = ObjectLink.objects.filter(job=started).first()
    reader = client_of(bob)
    page = reader.get(reverse("portal:links", args=[started.application_id])).content.decode()
    assert "data-unlink=" not in page and link.source_id in page
    answer = reader.post(reverse("portal:unlink", args=[started.application_id]),
                         {"object_type": link.object_type, "source_id": link.source_id})
    assert answer.status_code == 403 and ObjectLink.objects.filter(pk=link.pk).exists()


def test_unlinking_what_is_not_linked_says_so(started, alice):
    client = client_of(alice)
    url = reverse("portal:unlink", args=[started.application_id])
    gone = client.post(url, {"object_type": "user", "source_id": "no-such-user"}, follow=True)
    assert "This object is not linked (any more): nothing was changed." in gone.content.decode()
    bad = client.post(url, {"object_type": "printer", "source_id": "x"}, follow=True)
    assert bad.status_code == 200 and "Choose a linked object to unlink." in bad.content.decode()
    assert not AuditEvent.objects.filter(activity=AuditActivity.UNLINK).exists()
