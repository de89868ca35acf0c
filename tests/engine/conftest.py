"""Engine tests run cycles the way production does: a real Celery worker
process (on the suite's database and broker) runs ``provisioning.tasks.run_job``
against the emulators, and the tests look at the Dropbox team and the logs."""

from __future__ import annotations

import time

import pytest
from kombu import Connection

from portal.celery import app as celery_app
from provisioning.constants import CycleStatus, DEFAULT_ACCESS_ROLE_ID
from provisioning.models import SyncCycle
from tests.workers import CeleryProcess, child_environment


def emulator_environment(graph, dbx) -> dict[str, str]:
    from emulators.demo import DEMO_DROPBOX_APP_KEY

    return {
        "ENTRA_TENANT_ID": graph.tenant_id, "ENTRA_CLIENT_ID": graph.client_id,
        "ENTRA_CLIENT_SECRET": graph.client_secret, "ENTRA_LOGIN_URL": graph.url, "GRAPH_URL": graph.url,
        "DROPBOX_APP_KEY": DEMO_DROPBOX_APP_KEY, "DROPBOX_APP_SECRET": dbx.app_secret,
        "DROPBOX_API_URL": dbx.url, "DROPBOX_WEB_URL": dbx.url,
    }


def purge_queue() -> None:
    with Connection(celery_app.conf.broker_url,
                    transport_options=celery_app.conf.broker_transport_options or {}) as conn:
        try:
            conn.default_channel.queue_purge("celery")
        except Exception:  # nothing declared yet
            pass


@pytest.fixture(scope="session")
def worker_environment(django_db_setup, django_db_blocker, graph_emulator, dropbox_emulator):
    with django_db_blocker.unblock():
        return child_environment(**emulator_environment(graph_emulator, dropbox_emulator))


@pytest.fixture(scope="session")
def engine_worker(worker_environment):
    """One Celery worker for the engine tests of the session."""
    purge_queue()
    with CeleryProcess("worker", "--pool", "prefork", "--concurrency", "2", env=worker_environment) as worker:
        yield worker


@pytest.fixture
def run_cycle(engine_worker, services):
    """run_cycle(job) -> the finished SyncCycle, run by the real worker."""

    def run(job, *, force_full: bool = False, timeout: float = 120) -> SyncCycle:
        before = SyncCycle.objects.filter(job=job).order_by("-pk").values_list("pk", flat=True).first() or 0
        celery_app.send_task("provisioning.tasks.run_job", args=[job.pk], kwargs={"force_full": force_full})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cycle = SyncCycle.objects.filter(job=job, pk__gt=before).exclude(status=CycleStatus.RUNNING).first()
            if cycle is not None:
                job.refresh_from_db()
                return cycle
            time.sleep(0.1)
        raise AssertionError("the cycle did not finish in time:\n" + "".join(engine_worker.output[-60:]))

    return run


# ---------------------------------------------------------------------------- oracles
def expected_in_scope(graph, sp_id: str) -> dict[str, dict]:
    """The users a correct cycle provisions, worked out from Graph independently of the engine:
    enabled users assigned directly or through a group's direct membership, with a real role."""
    users = {u["id"]: u for u in graph.get_all(
        "/v1.0/users?$select=id,userPrincipalName,accountEnabled,givenName,surname,displayName&$top=999")}
    in_scope: set[str] = set()
    for assignment in graph.get_all(f"/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo"):
        if assignment["appRoleId"] == DEFAULT_ACCESS_ROLE_ID:
            continue
        if assignment["principalType"] == "User":
            in_scope.add(assignment["principalId"])
        elif assignment["principalType"] == "Group":
            for member in graph.get_all(f"/v1.0/groups/{assignment['principalId']}/members?$select=id"):
                if member.get("@odata.type", "").endswith("user"):
                    in_scope.add(member["id"])
    return {users[u]["userPrincipalName"].lower(): users[u] for u in in_scope
            if u in users and users[u].get("accountEnabled", True)}


def team(dbx) -> dict[str, dict]:
    """The Dropbox team's members that are not removed, by email."""
    return {m["email"].lower(): m for m in dbx.state()["members"] if m["status"] != "removed"}


def write_calls(dbx) -> dict[str, int]:
    reads = ("list", "get_info", "job_status", "get_authenticated_admin", "get_available")
    return {route: n for route, n in dbx.stats()["requests"].items()
            if route.startswith("POST /2/team/") and not any(r in route for r in reads)}
