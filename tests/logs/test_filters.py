"""Each filter of the list alone and combined, and filters kept in the URL so
that a filtered view can be shared."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from provisioning.constants import Action, LogStatus, ObjectType

from .conftest import link, shown_ids
from .factory import make_logs

pytestmark = pytest.mark.django_db


def ids(rows) -> list[int]:
    return [row.pk for row in rows]


def test_it_filters_by_date_presets(bob_client, job, logs_url):
    now = timezone.now()
    hour = make_logs(job, 1, start=now - timedelta(hours=1))
    days = make_logs(job, 1, start=now - timedelta(days=3))
    weeks = make_logs(job, 1, start=now - timedelta(days=20))
    make_logs(job, 1, start=now - timedelta(days=40))
    assert shown_ids(bob_client.get(logs_url(date="24h"))) == ids(hour)
    assert shown_ids(bob_client.get(logs_url(date="7d"))) == ids(hour + days)
    assert shown_ids(bob_client.get(logs_url(date="30d"))) == ids(hour + days + weeks)


def test_it_filters_by_a_custom_interval_including_both_days(bob_client, job, logs_url):
    tz = timezone.get_current_timezone()
    day = timezone.localdate() - timedelta(days=10)
    before = make_logs(job, 1, start=datetime.combine(day - timedelta(days=1), time(23, 59), tz))
    first = make_logs(job, 1, start=datetime.combine(day, time(0, 0), tz))
    last = make_logs(job, 1, start=datetime.combine(day + timedelta(days=1), time(23, 59), tz))
    after = make_logs(job, 1, start=datetime.combine(day + timedelta(days=2), time(0, 0), tz))
    response = bob_client.get(logs_url(date="custom", start=day.isoformat(),
                                       end=(day + timedelta(days=1)).isoformat()))
    assert shown_ids(response) == ids(last + first)
    assert not set(ids(before + after)) & set(shown_ids(response))


def test_it_filters_by_a_custom_interval_open_at_the_end(bob_client, job, logs_url):
    make_logs(job, 1, start=timezone.now() - timedelta(days=20))
    new = make_logs(job, 1)
    day = (timezone.localdate() - timedelta(days=19)).isoformat()
    assert shown_ids(bob_client.get(logs_url(date="custom", start=day))) == ids(new)


@pytest.mark.parametrize("status", list(LogStatus))
def test_it_filters_by_status(bob_client, job, logs_url, status):
    rows = make_logs(job, 40)
    expected = [row.pk for row in rows if row.status == status]
    assert expected
    assert shown_ids(bob_client.get(logs_url(status=status))) == expected


@pytest.mark.parametrize("action", [Action.CREATE, Action.UPDATE, Action.DISABLE, Action.SKIP, Action.DELETE])
def test_it_filters_by_action(bob_client, job, logs_url, action):
    rows = make_logs(job, 40)
    expected = [row.pk for row in rows if row.action == action]
    assert expected
    assert shown_ids(bob_client.get(logs_url(action=action))) == expected


def test_it_filters_by_object_type(bob_client, job, logs_url):
    rows = make_logs(job, 30)
    groups = [row.pk for row in rows if row.object_type == ObjectType.GROUP]
    users = [row.pk for row in rows if row.object_type == ObjectType.USER]
    assert groups and users
    assert shown_ids(bob_client.get(logs_url(object_type="group"))) == groups
    assert shown_ids(bob_client.get(logs_url(object_type="user"))) == users


def test_it_matches_the_identity_by_display_name_prefix_in_any_case(bob_client, job, logs_url):
    megan = make_logs(job, 1, source_display_name="Megan Bowen", source_upn="mb@contoso.com")
    make_logs(job, 1, source_display_name="Bowen Megan", source_upn="bm@contoso.com")
    assert shown_ids(bob_client.get(logs_url(identity="mEgAn B"))) == ids(megan)


def test_it_matches_the_identity_by_upn_or_email_prefix(bob_client, job, logs_url):
    upn = make_logs(job, 1, source_display_name="A", source_upn="lidia.holloway@contoso.com", target_email="")
    email = make_logs(job, 1, source_display_name="B", source_upn="", target_email="LIDIA.h@dropbox.example")
    make_logs(job, 1, source_display_name="C", source_upn="x.lidia@contoso.com", target_email="x.lidia@example")
    assert sorted(shown_ids(bob_client.get(logs_url(identity="Lidia.H")))) == sorted(ids(upn + email))


def test_it_matches_the_identity_exactly_by_source_or_target_id(bob_client, job, logs_url):
    source = make_logs(job, 1, source_id="5b7e1c2a-0000-4000-8000-000000000001")
    target = make_logs(job, 1, target_id="dbmid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc")
    make_logs(job, 1, source_id="5b7e1c2a-0000-4000-8000-000000000002")
    assert shown_ids(bob_client.get(logs_url(identity="5b7e1c2a-0000-4000-8000-000000000001"))) == ids(source)
    assert shown_ids(bob_client.get(logs_url(identity="dbmid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"))) == ids(target)
    # An id is matched whole, not by prefix.
    assert shown_ids(bob_client.get(logs_url(identity="dbmid:AAH4f99T0taONIb"))) == []


def test_it_treats_like_wildcards_in_the_identity_as_plain_text(bob_client, job, logs_url):
    make_logs(job, 1, source_display_name="Alex Wilber", source_upn="alex@contoso.com")
    assert shown_ids(bob_client.get(logs_url(identity="%"))) == []
    assert shown_ids(bob_client.get(logs_url(identity="_lex"))) == []


def test_it_filters_by_cycle_id(bob_client, job, logs_url):
    first, second = uuid.uuid4(), uuid.uuid4()
    rows = make_logs(job, 10, cycle_ids=[first, second])
    assert shown_ids(bob_client.get(logs_url(cycle_id=str(second)))) == [
        row.pk for row in rows if row.cycle_id == second]


def test_it_filters_by_change_id(bob_client, job, logs_url):
    rows = make_logs(job, 10)
    assert shown_ids(bob_client.get(logs_url(change_id=str(rows[4].change_id)))) == [rows[4].pk]
    assert shown_ids(bob_client.get(logs_url(change_id=str(uuid.uuid4())))) == []


def test_it_combines_filters(bob_client, job, logs_url):
    cycle = uuid.uuid4()
    rows = make_logs(job, 120, cycle_ids=[cycle, uuid.uuid4(), uuid.uuid4()])
    query = {"status": LogStatus.FAILURE, "action": Action.UPDATE, "cycle_id": str(cycle), "object_type": "user",
             "identity": "a", "date": "30d"}
    expected = [
        row.pk for row in rows
        if row.status == LogStatus.FAILURE and row.action == Action.UPDATE and row.cycle_id == cycle
        and row.object_type == ObjectType.USER
        and any(value.lower().startswith("a") for value in (row.source_display_name, row.source_upn,
                                                              row.target_email))
    ]
    assert expected
    assert shown_ids(bob_client.get(logs_url(**query))) == expected


def test_it_combines_status_and_identity_across_pages(bob_client, job, logs_url):
    rows = make_logs(job, 150, source_display_name="Pradeep Gupta") + make_logs(job, 20)
    expected = [row.pk for row in rows if row.status == LogStatus.SUCCESS and any(
        value.lower().startswith("pradeep") for value in (row.source_display_name, row.source_upn, row.target_email))]
    seen, query = [], "status=Success&identity=pradeep"
    while query is not None:
        response = bob_client.get(logs_url() + "?" + query)
        seen += shown_ids(response)
        query = link(response, "next-page")
    assert len(expected) > 50
    assert sorted(seen) == sorted(expected)


def test_the_form_shows_the_filters_it_was_given(bob_client, application, logs_url):
    cycle = uuid.uuid4()
    page = bob_client.get(logs_url(status="Failure", action="Disable", identity="megan", cycle_id=str(cycle),
                                   object_type="group", date="30d")).content.decode()
    assert '<option value="Failure" selected>' in page
    assert '<option value="Disable" selected>' in page
    assert '<option value="group" selected>' in page
    assert '<option value="30d" selected>' in page
    assert 'value="megan"' in page
    assert f'value="{cycle}"' in page


def test_the_pager_and_download_links_keep_the_filters(bob_client, job, logs_url):
    make_logs(job, 60, source_display_name="Nestor Wilke")
    response = bob_client.get(logs_url(identity="nestor", date="30d"))
    next_query = link(response, "next-page")
    assert next_query.startswith("date=30d&identity=nestor&after=")
    page = response.content.decode()
    assert "provisioning-logs/download/?date=30d&amp;identity=nestor&amp;format=json" in page
    assert "provisioning-logs/download/?date=30d&amp;identity=nestor&amp;format=csv" in page
    second = bob_client.get(logs_url() + "?" + next_query)
    assert link(second, "previous-page").startswith("date=30d&identity=nestor&before=")
    assert 'value="nestor"' in second.content.decode()


def test_the_filter_form_submits_with_get_to_the_same_page(bob_client, application, logs_url):
    page = bob_client.get(logs_url()).content.decode()
    assert f'<form method="get" class="filters log-filters" id="log-filters" ' \
           f'action="/applications/{application.pk}/provisioning-logs/">' in page
