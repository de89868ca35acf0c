"""Rows written many at once (COPY on PostgreSQL, bulk_create elsewhere) land
exactly as single saves would: every column, the automatic dates, awkward text,
JSON; conflicts left out or updated as asked; nothing half-written on error."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from provisioning.bulk import insert_rows, upsert_rows
from provisioning.models import ObjectLink, ProvisioningLog

AWKWARD = "tab\there, new\nline, back\\slash, quote ' \" , \u00e9\u00e8 \u4e2d\u6587, emoji \U0001f600, \\N"


@pytest.fixture
def job(application):
    return application.job


def log(job, change_id=None, **fields):
    return ProvisioningLog(job=job, activity_time=fields.pop("activity_time", timezone.now()),
                           change_id=change_id or uuid.uuid4(), action="Create", status="Success", **fields)


def test_every_column_arrives_as_written(job):
    when = timezone.now() - timedelta(days=1)
    steps = [{"name": "Import user", "status": "Success", "details": {"note": AWKWARD, "n": 3, "none": None}}]
    row = log(job, activity_time=when, cycle_id=uuid.uuid4(), source_display_name=AWKWARD, error_reason="",
              steps=steps, modified_properties=[{"name": "givenName", "old": None, "new": AWKWARD}], duration_ms=42)
    insert_rows(ProvisioningLog, [row])
    stored = ProvisioningLog.objects.get(change_id=row.change_id)
    assert stored.job_id == job.pk and stored.activity_time == when and stored.cycle_id == row.cycle_id
    assert stored.source_display_name == AWKWARD and stored.steps == steps
    assert stored.modified_properties == [{"name": "givenName", "old": None, "new": AWKWARD}]
    assert stored.duration_ms == 42 and stored.initiated_by == "Microsoft.Azure.SyncFabric"


def test_many_rows_arrive_in_one_call(job):
    insert_rows(ProvisioningLog, (log(job, source_id=f"user-{i}") for i in range(4500)))
    assert ProvisioningLog.objects.filter(job=job).count() == 4500
    assert set(ProvisioningLog.objects.values_list("source_id", flat=True)) == {f"user-{i}" for i in range(4500)}


def test_a_row_already_there_is_left_out_when_asked_and_the_first_one_kept(job):
    first = log(job, source_display_name="first")
    insert_rows(ProvisioningLog, [first])
    insert_rows(ProvisioningLog, [log(job, change_id=first.change_id, source_display_name="second"), log(job)],
                ignore_conflicts=True)
    assert ProvisioningLog.objects.count() == 2
    assert ProvisioningLog.objects.get(change_id=first.change_id).source_display_name == "first"


def test_a_conflict_not_allowed_raises_djangos_error_and_writes_none_of_the_rows(job):
    first = log(job)
    insert_rows(ProvisioningLog, [first])
    with pytest.raises(IntegrityError):
        insert_rows(ProvisioningLog, [log(job), log(job, change_id=first.change_id), log(job)])
    assert list(ProvisioningLog.objects.values_list("change_id", flat=True)) == [first.change_id]


def test_an_upsert_updates_the_named_columns_and_keeps_the_creation_date(job):
    insert_rows(ObjectLink, [ObjectLink(job=job, object_type="User", source_id="u1", target_id="dbmid:1",
                                        exported={"email": "old@contoso.com"})])
    created = ObjectLink.objects.get(source_id="u1").created_at
    upsert_rows(ObjectLink, [
        ObjectLink(job=job, object_type="User", source_id="u1", target_id="dbmid:1", state="disabled",
                   exported={"email": AWKWARD}, display_name="Changed"),
        ObjectLink(job=job, object_type="User", source_id="u2", target_id="dbmid:2"),
    ], unique_fields=["job", "object_type", "source_id"], update_fields=["state", "exported", "updated_at"])
    one = ObjectLink.objects.get(source_id="u1")
    assert (one.state, one.exported, one.display_name) == ("disabled", {"email": AWKWARD}, "")
    assert one.created_at == created and one.updated_at >= created
    assert ObjectLink.objects.get(source_id="u2").target_id == "dbmid:2"


def test_rows_written_in_a_transaction_that_fails_are_gone_with_it(job):
    with pytest.raises(RuntimeError), transaction.atomic():
        insert_rows(ProvisioningLog, [log(job)], ignore_conflicts=True)
        insert_rows(ProvisioningLog, [log(job)], ignore_conflicts=True)  # twice in one transaction
        upsert_rows(ObjectLink, [ObjectLink(job=job, object_type="User", source_id="u", target_id="t")],
                    unique_fields=["job", "object_type", "source_id"], update_fields=["target_id"])
        assert ProvisioningLog.objects.count() == 2
        raise RuntimeError("the cycle stopped")
    assert not ProvisioningLog.objects.exists() and not ObjectLink.objects.exists()


def test_delete_rows_removes_exactly_the_rows_named_within_the_other_conditions(job, application):
    from provisioning.bulk import delete_rows
    from provisioning.models import PendingWrite

    ids = [uuid.uuid4() for _ in range(4100)]
    insert_rows(PendingWrite, (PendingWrite(job=job, change_id=c, object_type="User", source_id=f"u{i}",
                                            action="Create", plan={}) for i, c in enumerate(ids)))
    insert_rows(ObjectLink, [ObjectLink(job=job, object_type=t, source_id="same", target_id=t) for t in ("User", "Group")])
    delete_rows(PendingWrite, "change_id", [str(c) for c in ids[:4000]] + [str(uuid.uuid4())], job=job)
    assert set(PendingWrite.objects.values_list("change_id", flat=True)) == set(ids[4000:])
    delete_rows(ObjectLink, "source_id", ["same", "other"], job=job, object_type="Group")
    assert list(ObjectLink.objects.values_list("object_type", flat=True)) == ["User"]
    delete_rows(ObjectLink, "source_id", [], job=job)
    assert ObjectLink.objects.count() == 1


@pytest.mark.parametrize("rows_as", ["instances", "dicts"])
def test_rows_expected_new_that_are_not_still_update_and_none_is_written_twice(job, rows_as):
    """A link expected new (its account just created) that exists after all is updated, not duplicated nor
    refused; and plain rows (dicts by attname, as a cycle writes them) land as instances do."""
    def link(source_id, target_id, **fields):
        values = {"job_id": job.pk, "object_type": "User", "source_id": source_id, "target_id": target_id, **fields}
        return values if rows_as == "dicts" else ObjectLink(**values)

    insert_rows(ObjectLink, [link("u1", "dbmid:old", display_name="Before")])
    upsert_rows(ObjectLink, [link("u2", "dbmid:2"), link("u1", "dbmid:new", display_name="After"), link("u3", "dbmid:3")],
                unique_fields=["job", "object_type", "source_id"], update_fields=["target_id", "display_name"],
                likely_new=True)
    assert sorted(ObjectLink.objects.values_list("source_id", "target_id", "display_name")) == [
        ("u1", "dbmid:new", "After"), ("u2", "dbmid:2", ""), ("u3", "dbmid:3", "")]
    assert ObjectLink.objects.get(source_id="u2").exported == {} and ObjectLink.objects.get(source_id="u2").state == "active"
