"""Provision on demand in the portal: search, provision, watch the steps."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning.constants import AuditActivity
from provisioning.engine.ondemand import run
from provisioning.models import AuditEvent, OnDemandRun

pytestmark = pytest.mark.django_db


def test_an_administrator_searches_provisions_and_watches_the_steps(alice_client, job, services,
                                                                     django_capture_on_commit_callbacks):
    app_id = job.application_id
    results = alice_client.get(reverse("portal:on_demand_search", args=[app_id]), {"q": "Megan"}).content.decode()
    assert "Megan Bowen" in results and 'data-provision="Megan Bowen"' in results
    user_id = results.split('name="source_id" value="', 1)[1].split('"', 1)[0]

    with django_capture_on_commit_callbacks() as callbacks:
        response = alice_client.post(reverse("portal:on_demand_provision", args=[app_id]),
                                     {"object_type": "user", "source_id": user_id, "display_name": "Megan Bowen"})
    record = OnDemandRun.objects.get()
    assert response["Location"] == reverse("portal:on_demand_run", args=[app_id, record.pk])
    assert len(callbacks) == 1
    assert AuditEvent.objects.get().activity == AuditActivity.PROVISION_ON_DEMAND
    waiting = alice_client.get(response["Location"]).content.decode()
    assert "In progress" in waiting and "data-poll" in waiting

    run(record.pk)
    done = alice_client.get(response["Location"], HTTP_X_REQUESTED_WITH="fetch").content.decode()
    for name in ("Import user", "Determine if user is in scope", "Match user between source and target system",
                 "Perform action"):
        assert name in done
    assert "Completed" in done and "View log entry" in done and "data-poll" not in done


def test_a_reader_sees_the_page_but_cannot_provision(bob_client, job):
    page = bob_client.get(reverse("portal:on_demand", args=[job.application_id])).content.decode()
    assert "only Provisioning administrators can provision on demand" in page
    assert bob_client.get(reverse("portal:on_demand_search", args=[job.application_id]), {"q": "a"}).status_code == 403
    assert bob_client.post(reverse("portal:on_demand_provision", args=[job.application_id]),
                           {"object_type": "user", "source_id": "x"}).status_code == 403


def test_a_group_too_big_fails_with_the_reason(alice_client, job, services):
    from tests.services import entra_connector

    connector = entra_connector()
    big = next(g for g in connector.iter_groups() if len(list(connector.iter_group_members(g["id"]))) > 5)
    record = OnDemandRun.objects.create(job=job, object_type="group", source_id=big["id"], display_name="big")
    run(record.pk)
    page = alice_client.get(reverse("portal:on_demand_run", args=[job.application_id, record.pk])).content.decode()
    assert "Failed" in page and "up to 5 members" in page
