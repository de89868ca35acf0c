"""Account discovery against the emulators: before go-live every member of the
demo team is sorted as an independent oracle (Graph's own answers) says it must
be; after a cycle members are linked, drift made by hand in Dropbox is named,
an address reused is a conflict. The page shows counts, filters, searches and
downloads; readers may look, only administrators start one; nothing is written."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from dropbox import team as T

from provisioning.discovery import run
from provisioning.models import AccountDiscovery
from tests.engine.conftest import expected_in_scope, team

pytestmark = pytest.mark.django_db(transaction=True)


def discover(job) -> AccountDiscovery:
    record = AccountDiscovery.objects.create(job=job, requested_by="alice")
    return run(record.pk)


def categories(record) -> dict[str, str]:
    return dict(record.accounts.values_list("email", "category"))


def test_before_go_live_every_member_is_sorted_as_graph_says(job, services, graph, dbx, demo_sp):
    writes_before = len(dbx.control("GET", "journal")["writes"])
    record = discover(job)
    assert record.status == "done", record.error
    in_scope = expected_in_scope(graph, demo_sp["id"])
    everyone = {u["userPrincipalName"].lower()
                for u in graph.get_all("/v1.0/users?$select=id,userPrincipalName&$top=999")}
    members = team(dbx)
    found = categories(record)
    assert set(found) == set(members)
    for email, category in found.items():
        if email == job.target_admin_email:
            expected = "protected"
        elif email in in_scope:
            expected = "will_match"
        elif email in everyone:
            expected = "out_of_scope"
        else:
            expected = "orphan"
        assert category == expected, email
    assert sum(record.counts.values()) == len(members)
    will_match = record.accounts.filter(category="will_match").first()
    assert will_match.matched_by == "email" and will_match.source_upn.lower() == will_match.email
    assert len(dbx.control("GET", "journal")["writes"]) == writes_before  # nothing written to Dropbox


def test_after_a_cycle_members_are_linked_and_hand_made_drift_is_named(job, services, graph, dbx, run_cycle):
    run_cycle(job)
    member = next(m for m in team(dbx).values() if m["email"] != job.target_admin_email and m["given_name"])
    dbx.team_client().team_members_set_profile_v2(T.UserSelectorArg.email(member["email"]), new_given_name="ChangedByHand")
    record = discover(job)
    found = categories(record)
    assert found[member["email"]] == "drifted"
    row = record.accounts.get(email=member["email"])
    assert row.differences == [{"name": "givenName", "target": "ChangedByHand", "source": member["given_name"]}]
    assert "The next cycle writes the mapped values back." in row.note
    assert list(found.values()).count("linked") >= 3


def test_an_address_reused_after_someone_left_is_a_conflict(job, services, graph, dbx, run_cycle):
    run_cycle(job)
    link = job.links.filter(object_type="user").exclude(target_email=job.target_admin_email).first()
    graph.graph("PATCH", f"/v1.0/users/{link.source_id}", json={"userPrincipalName": "reused.address@contoso.com"})
    dbx.team_client().team_members_add_v2([T.MemberAddV2Arg("reused.address@contoso.com", "Someone", "Else")])
    record = discover(job)
    row = record.accounts.get(email="reused.address@contoso.com")
    assert row.category == "conflict" and row.source_id == link.source_id
    assert row.note == (f"reused.address@contoso.com is already linked to another Dropbox member "
                        f"({link.target_email}): an address reused after someone left?")
    assert record.accounts.get(target_id=link.target_id).category == "drifted"  # its email would change


def test_a_revoked_authorization_fails_the_discovery_with_the_reason(job, services, dbx):
    dbx.control("POST", "tokens/revoke", {})
    record = discover(job)
    assert record.status == "failed" and "Dropbox rejected the stored credentials" in record.error
    assert not record.accounts.exists()


# ---------------------------------------------------------------------------- the page
def test_the_page_counts_filters_searches_and_downloads(alice_client, job, services):
    record = discover(job)
    url = reverse("portal:discovery", args=[job.application_id, record.pk])
    page = alice_client.get(url).content.decode()
    total = sum(record.counts.values())
    assert f'<strong id="discovery-total">{total}</strong>' in page
    assert 'data-category="orphan"' in page and "Will be matched" in page
    orphans = alice_client.get(url, {"category": "orphan"}).content.decode()
    assert orphans.count("<tr data-email=") == record.counts.get("orphan", 0)
    some = record.accounts.filter(category="will_match").first()
    searched = alice_client.get(url, {"q": some.email.split("@")[0]}).content.decode()
    assert f'<tr data-email="{some.email}">' in searched
    nonsense = alice_client.get(url, {"category": "<script>", "page": "x"})
    assert nonsense.status_code == 200 and "<script>" not in nonsense.content.decode().split("<main")[1]

    download = alice_client.get(reverse("portal:discovery_download", args=[job.application_id, record.pk]),
                                {"category": "will_match"})
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0][:3] == ["category", "email", "display_name"]
    assert len(rows) - 1 == record.counts["will_match"] and {r[0] for r in rows[1:]} == {"Will be matched"}


def test_readers_look_and_only_administrators_start(alice, bob_client, job, services):
    from django.test import Client

    alice_client = Client()
    alice_client.force_login(alice)
    assert bob_client.post(reverse("portal:discovery_start", args=[job.application_id])).status_code == 403
    assert not AccountDiscovery.objects.exists()
    empty = bob_client.get(reverse("portal:discovery_page", args=[job.application_id])).content.decode()
    assert 'id="discovery-none"' in empty and 'id="discovery-start"' not in empty
    response = alice_client.post(reverse("portal:discovery_start", args=[job.application_id]))
    record = AccountDiscovery.objects.get()
    assert response["Location"] == reverse("portal:discovery", args=[job.application_id, record.pk])
    assert "Discovering…" in alice_client.get(response["Location"]).content.decode()
    again = alice_client.post(reverse("portal:discovery_start", args=[job.application_id]))
    assert again["Location"] == response["Location"] and AccountDiscovery.objects.count() == 1  # one at a time
    assert bob_client.get(reverse("portal:discovery_page", args=[job.application_id]))["Location"] == \
        response["Location"]


def test_a_job_not_yet_authorized_is_told_what_to_do(alice_client, application):
    response = alice_client.post(reverse("portal:discovery_start", args=[application.pk]), follow=True)
    assert "Authorize the portal against Dropbox before discovering its accounts." in response.content.decode()
    assert not AccountDiscovery.objects.exists()


@pytest.mark.worker
def test_a_discovery_runs_in_the_background_on_the_worker(alice_client, job, services, engine_worker):
    import time

    response = alice_client.post(reverse("portal:discovery_start", args=[job.application_id]))
    record = AccountDiscovery.objects.get()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        record.refresh_from_db()
        if record.status != "running":
            break
        time.sleep(0.2)
    assert record.status == "done", record.error or "".join(engine_worker.output[-40:])
    page = alice_client.get(response["Location"]).content.decode()
    assert f'<strong id="discovery-total">{sum(record.counts.values())}</strong>' in page
    assert '<div id="discovery-body">' in page  # finished: it stops polling


# ---------------------------------------------------------------------------- acting on the findings
def ids_of(record, category: str, count: int | None = None) -> list[str]:
    rows = list(record.accounts.filter(category=category).values_list("pk", flat=True))
    return [str(pk) for pk in rows[:count]]


def post_action(client, job, record, name: str, **data):
    return client.post(reverse(f"portal:discovery_{name}", args=[job.application_id, record.pk]), data, follow=True)


def test_suspending_orphans_writes_a_log_row_each_and_an_audit_event(alice, alice_client, job, services, dbx):
    from provisioning.constants import Action, AuditActivity, LogStatus
    from provisioning.models import AuditEvent, ProvisioningLog

    dbx.team_client().team_members_add_v2([T.MemberAddV2Arg(f"orphan.{n}@contoso.com", "Or", f"Phan{n}")
                                           for n in range(3)])
    for n in range(3):
        dbx.control("POST", f"members/orphan.{n}@contoso.com/accept", {})
    record = discover(job)
    chosen = list(record.accounts.filter(email__startswith="orphan.", category="orphan"))
    assert len(chosen) == 3
    page = post_action(alice_client, job, record, "suspend", accounts=[str(r.pk) for r in chosen]).content.decode()
    assert "3 members suspended; each has its provisioning log row." in page
    assert {team(dbx)[r.email]["status"] for r in chosen} == {"suspended"}
    rows = ProvisioningLog.objects.filter(job=job, action=Action.DISABLE, status=LogStatus.SUCCESS)
    assert sorted(rows.values_list("target_email", flat=True)) == sorted(r.email for r in chosen)
    assert {r.initiated_by for r in rows} == {alice.email}
    assert "Suspended from account discovery" in rows.first().steps[-1]["description"]
    assert AuditEvent.objects.filter(activity=AuditActivity.SUSPEND_UNLINKED).count() == 1


def test_only_orphans_are_suspended_and_never_past_the_threshold(alice_client, job, services, dbx):
    from provisioning.models import ProvisioningJob

    dbx.team_client().team_members_add_v2([T.MemberAddV2Arg(f"extra.{n}@contoso.com", "Ex", f"Tra{n}")
                                           for n in range(2)])
    record = discover(job)
    page = post_action(alice_client, job, record, "suspend", accounts=ids_of(record, "protected")).content.decode()
    assert "Only orphans (members linked to no user, with no user matching them) are suspended from here." in page
    assert team(dbx)[job.target_admin_email]["status"] == "active"
    orphans = ids_of(record, "orphan")
    ProvisioningJob.objects.filter(pk=job.pk).update(deletion_threshold=len(orphans) - 1)
    page = post_action(alice_client, job, record, "suspend", accounts=orphans).content.decode()
    assert f"{len(orphans)} members are more than the accidental deletion threshold ({len(orphans) - 1})" in page
    emails = set(record.accounts.filter(category="orphan").values_list("email", flat=True))
    assert not [m for m in team(dbx).values() if m["email"] in emails and m["status"] == "suspended"]
    nothing = post_action(alice_client, job, record, "suspend").content.decode()
    assert "Select the members to suspend." in nothing


def test_linking_an_orphan_to_a_user_by_hand_and_unlinking_it(alice_client, job, services, graph, dbx, demo_sp):
    from provisioning.constants import AuditActivity
    from provisioning.models import AuditEvent, ObjectLink

    dbx.team_client().team_members_add_v2([T.MemberAddV2Arg("old.address@contoso.com", "Old", "Address")])
    record = discover(job)
    row = record.accounts.get(email="old.address@contoso.com")
    assert row.category == "orphan"
    user = next(iter(expected_in_scope(graph, demo_sp["id"]).values()))  # a user in scope
    page = post_action(alice_client, job, record, "link", account=str(row.pk),
                       user=user["userPrincipalName"]).content.decode()
    assert f"old.address@contoso.com is now linked to {user['userPrincipalName']}." in page
    link = ObjectLink.objects.get(job=job, target_email="old.address@contoso.com")
    assert (link.source_id, link.matched_by) == (user["id"], "by hand")
    assert AuditEvent.objects.filter(activity=AuditActivity.LINK).exists()
    again = post_action(alice_client, job, record, "link", account=str(row.pk), user=user["id"]).content.decode()
    assert "only members linked to no user can be linked" in again
    unknown = record.accounts.filter(category="orphan").exclude(pk=row.pk).first()
    missing = post_action(alice_client, job, record, "link", account=str(unknown.pk),
                          user="nobody.at.all@contoso.com").content.decode()
    assert "Microsoft Entra ID has no user nobody.at.all@contoso.com." in missing
    taken = post_action(alice_client, job, record, "link", account=str(unknown.pk), user=user["id"]).content.decode()
    assert "is already linked to old.address@contoso.com" in taken

    page = post_action(alice_client, job, record, "unlink", accounts=[str(row.pk)]).content.decode()
    assert "1 member unlinked." in page
    assert not ObjectLink.objects.filter(job=job, target_email="old.address@contoso.com").exists()


def test_readers_cannot_act_on_findings(bob_client, job, services):
    record = discover(job)
    for name in ("suspend", "unlink", "link"):
        assert bob_client.post(reverse(f"portal:discovery_{name}", args=[job.application_id, record.pk]),
                               {"accounts": ids_of(record, "orphan")}).status_code == 403


def test_suspending_orphans_works_while_provisioning_is_stopped(alice_client, job, services, dbx):
    from provisioning.constants import AuditActivity
    from provisioning.models import AuditEvent, ProvisioningJob

    dbx.team_client().team_members_add_v2([T.MemberAddV2Arg("stopped.orphan@contoso.com", "St", "Opped")])
    dbx.control("POST", "members/stopped.orphan@contoso.com/accept", {})
    ProvisioningJob.objects.filter(pk=job.pk).update(stop_requested=True)  # as after Stop, until the next cycle
    record = discover(job)
    row = record.accounts.get(email="stopped.orphan@contoso.com")
    page = post_action(alice_client, job, record, "suspend", accounts=[str(row.pk)]).content.decode()
    assert "1 member suspended" in page and team(dbx)["stopped.orphan@contoso.com"]["status"] == "suspended"
    assert AuditEvent.objects.filter(activity=AuditActivity.SUSPEND_UNLINKED).exists()


def test_a_member_is_not_linked_by_hand_to_a_user_out_of_scope(alice_client, job, services, graph, dbx, demo_sp):
    from provisioning.models import ObjectLink
    from tests.engine.test_cycles import unassigned_user

    dbx.team_client().team_members_add_v2([T.MemberAddV2Arg("someone.else@contoso.com", "Some", "One")])
    record = discover(job)
    row = record.accounts.get(email="someone.else@contoso.com")
    outsider = unassigned_user(graph, demo_sp)
    page = post_action(alice_client, job, record, "link", account=str(row.pk),
                       user=outsider["userPrincipalName"]).content.decode()
    assert "is not in scope for provisioning (the user is not assigned to the application.)" in page
    assert not ObjectLink.objects.filter(job=job, target_email="someone.else@contoso.com").exists()
