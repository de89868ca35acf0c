"""The portal wired to the emulators: settings pointing at them, a Dropbox
authorization obtained through the real OAuth pages, and an application with
its provisioning job, as an administrator would set it up."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone
from kombu import Connection

from emulators.demo import DEMO_DROPBOX_APP_KEY, DROPBOX_FOR_BUSINESS_APP_ID
from portal.celery import app as celery_app
from provisioning.connectors import entra
from provisioning.connectors.entra import EntraConnector
from provisioning.constants import CycleStatus
from provisioning.targets.dropbox.connector import DropboxConnector
from provisioning.targets.dropbox.oauth import authorize_flow
from tests.workers import CeleryProcess, child_environment

CALLBACK = "http://127.0.0.1:8000/applications/oauth/dropbox/callback/"


@pytest.fixture
def services(settings, graph_emulator, dropbox_emulator):
    """Both emulators, reset to their demo seeds, and the portal's settings pointing at them."""
    graph_emulator.reset("demo")
    dropbox_emulator.reset("demo")
    settings.ENTRA_TENANT_ID = graph_emulator.tenant_id
    settings.ENTRA_CLIENT_ID = graph_emulator.client_id
    settings.ENTRA_CLIENT_SECRET = graph_emulator.client_secret
    settings.ENTRA_LOGIN_URL = graph_emulator.url
    settings.GRAPH_URL = graph_emulator.url
    settings.DROPBOX_APP_KEY = DEMO_DROPBOX_APP_KEY
    settings.DROPBOX_APP_SECRET = dropbox_emulator.app_secret
    settings.DROPBOX_API_URL = dropbox_emulator.url
    settings.DROPBOX_WEB_URL = dropbox_emulator.url
    entra._msal_apps.clear()
    return graph_emulator, dropbox_emulator


@pytest.fixture
def graph(services):
    """The Graph emulator, reset to its demo seed."""
    return services[0]


@pytest.fixture
def dbx(services):
    """The Dropbox emulator, reset to its demo seed."""
    return services[1]


def dropbox_refresh_token(dropbox_emulator, email: str | None = None, password: str | None = None) -> str:
    """Authorize as the team admin (or another member) through the emulator's pages, as a browser would."""
    from emulators.dropbox.signin import sign_in_and_decide
    from urllib.parse import parse_qsl, urlsplit

    store: dict = {}
    flow = authorize_flow(redirect_uri=CALLBACK, session_store=store, app_key=DEMO_DROPBOX_APP_KEY,
                          api_url=dropbox_emulator.url, web_url=dropbox_emulator.url)
    url = flow.start()
    answer = sign_in_and_decide(dropbox_emulator.session(), url, email or dropbox_emulator.admin_email,
                                password or dropbox_emulator.admin_password)
    query = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
    return flow.finish(query).refresh_token


def entra_connector(**overrides) -> EntraConnector:
    return EntraConnector.from_settings(**overrides)


def dropbox_connector(token: str, **overrides):
    return DropboxConnector.from_settings(token, **overrides)


@pytest.fixture
def refresh_token(services):
    return dropbox_refresh_token(services[1])


@pytest.fixture
def demo_sp(services):
    """The demo tenant's Dropbox for Business service principal."""
    return entra_connector().find_service_principal(DROPBOX_FOR_BUSINESS_APP_ID)


def provisioned_job(application_sp: dict, refresh_token: str, *, enabled: bool = True, **settings_):
    """An application with its job set up as the tutorial leaves it: Automatic, authorized, On."""
    from provisioning.credentials import describe_team
    from provisioning.defaults import create_job
    from provisioning.models import Application

    app = Application.objects.create(display_name="Dropbox for Business", app_id=application_sp["appId"],
                                     service_principal_id=application_sp["id"])
    job = create_job(app)
    identity = describe_team(dropbox_connector(refresh_token))
    job.mode, job.enabled = "automatic", enabled
    job.target_refresh_token = refresh_token
    job.target_admin_email, job.target_admin_id = identity.admin_email, identity.admin_id
    job.target_team_name, job.target_team_id = identity.team_name, identity.team_id
    for key, value in settings_.items():
        setattr(job, key, value)
    job.save()
    return job


def synthetic_job(graph, dbx, users: int, *, enabled: bool = True):
    """(job, service principal): a job provisioned as the tutorial leaves it, on a synthetic tenant of ``users``."""
    graph.reset(f"synthetic:{users}")
    sp = graph.get_all(f"/v1.0/servicePrincipals?$filter=appId eq '{DROPBOX_FOR_BUSINESS_APP_ID}'")[0]
    return provisioned_job(sp, dropbox_refresh_token(dbx), enabled=enabled), sp


@pytest.fixture
def job(demo_sp, refresh_token):
    return provisioned_job(demo_sp, refresh_token)


# ---------------------------------------------------------------------------- a real worker
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

    from provisioning.models import SyncCycle

    def run(job, *, force_full: bool = False, timeout: float = 120) -> SyncCycle:
        before = SyncCycle.objects.filter(job=job).order_by("-pk").values_list("pk", flat=True).first() or 0
        # As when the next cycle falls due (a queued trigger that is not due yet is skipped).
        type(job).objects.filter(pk=job.pk).update(next_run_at=timezone.now())
        celery_app.send_task("provisioning.tasks.run_job", args=[job.pk], kwargs={"force_full": force_full})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cycle = SyncCycle.objects.filter(job=job, pk__gt=before).exclude(status=CycleStatus.RUNNING).first()
            # The run is over when its cycle is finished and its lease is released.
            if cycle is not None and not type(job).objects.filter(pk=job.pk).exclude(lease_owner="").exists():
                job.refresh_from_db()
                return cycle
            time.sleep(0.1)
        raise AssertionError("the cycle did not finish in time:\n" + "".join(engine_worker.output[-60:]))

    return run

