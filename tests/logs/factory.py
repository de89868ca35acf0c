"""Provisioning log rows for the tests, written with one bulk insert.

``make_logs`` cycles through actions, statuses, object types and names so that
every filter has something to find and something to leave out; each row is a
minute older than the one before, and ``same_time`` rows share a timestamp so
that the keyset's tie on ``id`` is exercised."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.utils import timezone

from provisioning.constants import Action, LogStatus, ObjectType
from provisioning.models import ProvisioningJob, ProvisioningLog

NAMES = ["Adele Vance", "Alex Wilber", "Diego Siciliani", "Grady Archie", "Isaiah Langer", "Johanna Lorenz",
         "Lee Gu", "Lidia Holloway", "Megan Bowen", "Nestor Wilke", "Patti Fernandez", "Pradeep Gupta"]
ACTIONS = [Action.CREATE, Action.UPDATE, Action.DISABLE, Action.SKIP, Action.DELETE]
STATUSES = [LogStatus.SUCCESS, LogStatus.SUCCESS, LogStatus.FAILURE, LogStatus.SKIPPED, LogStatus.WARNING]


def steps_for(action: str, status: str, upn: str) -> list[dict]:
    return [
        {"name": "Import user", "status": "Success", "description": f"Retrieved {upn} from Microsoft Entra ID.",
         "details": {"accountEnabled": True}},
        {"name": "Determine if user is in scope", "status": "Skipped" if status == LogStatus.SKIPPED else "Success",
         "description": "The user is assigned to the application.", "details": {}},
        {"name": "Match user between source and target system", "status": "Success",
         "description": "No Dropbox member matches the user.", "details": {"matchedBy": "email"}},
        {"name": "Perform action", "status": status, "description": f"{action}: the user was provisioned.",
         "details": {"error_code": "DropboxLicenseLimit"} if status == LogStatus.FAILURE else {}},
    ]


def make_logs(job: ProvisioningJob, count: int, *, start: datetime | None = None, same_time: int = 0,
              cycle_ids: list[uuid.UUID] | None = None, **fixed) -> list[ProvisioningLog]:
    """``count`` rows for ``job``; keyword arguments fix a field for all of them."""
    start = start or timezone.now() - timedelta(minutes=1)
    cycle_ids = cycle_ids or [uuid.uuid4(), uuid.uuid4()]
    rows = []
    for n in range(count):
        name = NAMES[n % len(NAMES)]
        first, last = name.lower().split(" ", 1)
        upn = f"{first}.{last}{n}@contoso.com"
        action = fixed.get("action", ACTIONS[n % len(ACTIONS)])
        status = fixed.get("status", STATUSES[(n // len(ACTIONS)) % len(STATUSES)])
        is_group = n % 7 == 6
        values = dict(
            job=job,
            activity_time=start - timedelta(minutes=max(0, n - same_time + 1) if same_time else n),
            cycle_id=cycle_ids[n % len(cycle_ids)],
            change_id=uuid.uuid4(),
            object_type=ObjectType.GROUP if is_group else ObjectType.USER,
            action=action,
            status=status,
            error_code="DropboxLicenseLimit" if status == LogStatus.FAILURE else
            ("NotEffectivelyEntitled" if status == LogStatus.SKIPPED else ""),
            error_reason="The team has no licence left." if status == LogStatus.FAILURE else
            ("The user is not assigned to the application." if status == LogStatus.SKIPPED else ""),
            recommendation="Buy more licences or remove members." if status == LogStatus.FAILURE else
            ("Assign the user to the application." if status == LogStatus.SKIPPED else ""),
            source_id=str(uuid.uuid4()),
            source_display_name=f"{name} {n}" if not is_group else f"Group {n}",
            source_upn="" if is_group else upn,
            target_id=f"dbmid:{n:06d}",
            target_email="" if is_group else f"{first}.{last}{n}@dropbox.contoso.com",
            steps=steps_for(action, status, fixed.get("source_upn") or upn),
            modified_properties=[{"name": "givenName", "old": None, "new": first.title()},
                                 {"name": "surname", "old": "Old", "new": last.title()}] if action == Action.UPDATE
            else [],
            duration_ms=100 + n,
        )
        values.update(fixed)
        rows.append(ProvisioningLog(**values))
    return ProvisioningLog.objects.bulk_create(rows)
