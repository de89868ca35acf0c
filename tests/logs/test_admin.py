"""The Django admin shows provisioning logs read-only, with filters and a
search by name, UPN, email and ids."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from provisioning.models import ProvisioningLog

from .factory import make_logs

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:provisioning_provisioninglog_changelist"


@pytest.fixture
def root_client(client, root):
    client.force_login(root)
    return client


def test_it_is_registered_read_only(rf, root):
    model_admin = admin.site._registry[ProvisioningLog]
    request = rf.get("/")
    request.user = root
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)


def test_it_filters_by_status_action_object_type_and_date(root_client, job):
    rows = make_logs(job, 20)
    url = reverse(CHANGELIST)
    page = root_client.get(url).content.decode()
    for heading in ("By status", "By action", "By object type", "By activity time", "Past 7 days"):
        assert heading in page
    failures = [row for row in rows if row.status == "Failure"]
    response = root_client.get(url, {"status__exact": "Failure", "action__exact": failures[0].action,
                                     "object_type__exact": "user"})
    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert shown and all(row.status == "Failure" and row.action == failures[0].action for row in shown)


@pytest.mark.parametrize("field, term", [
    ("source_display_name", "MeGaN"), ("source_upn", "MEGAN.BOWEN@"), ("target_email", "megan@drop"),
    ("source_id", "6a3b1c2d-0000-4000-8000-000000000abc"), ("target_id", "dbmid:megan"),
])
def test_it_searches_names_emails_and_ids(root_client, job, field, term):
    [megan] = make_logs(job, 1, source_display_name="Megan Bowen", source_upn="megan.bowen@contoso.com",
                        target_email="megan@dropbox.contoso.com", source_id="6a3b1c2d-0000-4000-8000-000000000abc",
                        target_id="dbmid:megan")
    make_logs(job, 3)
    response = root_client.get(reverse(CHANGELIST), {"q": term})
    assert list(response.context["cl"].result_list) == [megan], field


def test_it_searches_by_change_id_and_survives_a_term_that_is_not_one(root_client, job):
    rows = make_logs(job, 3)
    response = root_client.get(reverse(CHANGELIST), {"q": str(rows[1].change_id)})
    assert list(response.context["cl"].result_list) == [rows[1]]
    assert root_client.get(reverse(CHANGELIST), {"q": "not-a-uuid"}).status_code == 200


def test_a_row_opens_read_only(root_client, job):
    [log] = make_logs(job, 1)
    page = root_client.get(reverse("admin:provisioning_provisioninglog_change", args=[log.pk]))
    assert page.status_code == 200
    assert 'type="submit" value="Save"' not in page.content.decode()
