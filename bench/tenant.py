"""What every benchmark sets up: a scratch PostgreSQL database, both emulators
(a synthetic tenant of N users in groups of 100, every group assigned, and an
empty team), the portal's settings pointing at them, and Dropbox for Business
added, authorized through the emulator's OAuth pages and turned On.

Not part of the test suite."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulators.demo import DEMO_CLIENT_ID, DEMO_DROPBOX_APP_KEY, DEMO_TENANT_ID  # noqa: E402
from emulators.process import EmulatorProcess  # noqa: E402


@dataclass
class Tenant:
    graph: EmulatorProcess
    dropbox: EmulatorProcess
    #: the environment of the portal's processes (manage.py, workers)
    env: dict
    client_secret: str
    #: the Dropbox emulator's admin password; its admin token
    password: str
    admin_token: str


def psql(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def bench_tenant(database_url: str, users: int, *, latency_ms: float, dropbox_args: tuple[str, ...] = (),
                 env: dict | None = None) -> Iterator[Tenant]:
    """Everything up, the application authorized and On; the scratch database dropped at the end."""
    url = urlsplit(database_url)
    name = url.path.lstrip("/")
    admin_url = urlunsplit(url._replace(path="/postgres"))
    psql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
    psql(admin_url, f'CREATE DATABASE "{name}"')
    client_secret, app_secret, password = (secrets.token_urlsafe(20) for _ in range(3))
    admin_token = "team-" + secrets.token_urlsafe(24)
    graph = EmulatorProcess("graph", "--seed", f"synthetic:{users}", f"--client-secret={client_secret}",
                            "--latency-ms", str(latency_ms))
    dropbox = EmulatorProcess("dropbox", "--seed", "empty", f"--app-secret={app_secret}",
                              f"--admin-password={password}", f"--member-password={password}x",
                              f"--admin-token={admin_token}", "--licenses", str(users * 2),
                              "--latency-ms", str(latency_ms), *dropbox_args)
    environment = {
        # as a worker runs in production: DEBUG off (with it on, Django also times and keeps every query)
        **os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "false",
        "SECRET_KEY": _SECRET_KEY, "STATIC_MANIFEST": "false", "DATABASE_URL": database_url,
        "PORTAL_VAR_DIR": str(ROOT / "var" / "bench"), "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "ENTRA_TENANT_ID": DEMO_TENANT_ID, "ENTRA_CLIENT_ID": DEMO_CLIENT_ID, "ENTRA_CLIENT_SECRET": client_secret,
        "DROPBOX_APP_KEY": DEMO_DROPBOX_APP_KEY, "DROPBOX_APP_SECRET": app_secret, "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    with graph, dropbox:
        environment.update(ENTRA_LOGIN_URL=graph.url, GRAPH_URL=graph.url, DROPBOX_API_URL=dropbox.url,
                           DROPBOX_WEB_URL=dropbox.url)
        os.environ.update({k: v for k, v in environment.items() if isinstance(v, str)})
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment, check=True)
        _point_settings(environment)
        setup_application(dropbox, password)
        yield Tenant(graph, dropbox, environment, client_secret, password, admin_token)
        from django.db import connections

        connections.close_all()
    psql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')


#: one per run: the credentials the benchmark stores are encrypted with a key derived from it, and Django reads
#: it once per process
_SECRET_KEY = secrets.token_urlsafe(40)

#: the settings that differ from one tenant (its emulators, their secrets) to the next
_PER_TENANT = ("ENTRA_LOGIN_URL", "GRAPH_URL", "DROPBOX_API_URL", "DROPBOX_WEB_URL", "ENTRA_CLIENT_SECRET",
               "DROPBOX_APP_SECRET")


def _point_settings(environment: dict) -> None:
    """Django reads its settings once per process: a second tenant of the same run (``--users 100000,250000``)
    points them at its own emulators."""
    from django.conf import settings

    if settings.configured:
        for key in _PER_TENANT:
            setattr(settings, key, environment[key])


def setup_application(dropbox, password: str) -> None:
    """Add Dropbox for Business as the portal would, authorize it, turn it On."""
    import django

    django.setup()
    from urllib.parse import parse_qsl

    from emulators.dropbox.signin import sign_in_and_decide
    from provisioning import connections
    from provisioning.connectors.entra import EntraConnector
    from provisioning.credentials import describe_team
    from provisioning.targets.dropbox.oauth import authorize_flow
    from provisioning.defaults import create_job
    from provisioning.gallery import find
    from provisioning.models import Application

    entry = find("dropbox-business")
    sp, _ = EntraConnector.from_settings().ensure_service_principal(entry.app_id)
    application = Application.objects.create(display_name=entry.name, app_id=entry.app_id,
                                             service_principal_id=sp["id"])
    job = create_job(application)
    store: dict = {}
    flow = authorize_flow(redirect_uri="http://127.0.0.1:8000/applications/oauth/dropbox/callback/",
                          session_store=store, app_key=DEMO_DROPBOX_APP_KEY, api_url=dropbox.url,
                          web_url=dropbox.url)
    answer = sign_in_and_decide(flow.requests_session, flow.start(), "admin@contoso.com", password)
    token = flow.finish(dict(parse_qsl(urlsplit(answer.headers["Location"]).query))).refresh_token
    identity = describe_team(connections.target_for_secret(job, token))
    job.mode, job.enabled, job.target_refresh_token = "automatic", True, token
    job.target_admin_email, job.target_admin_id, job.target_team_name = (identity.admin_email, identity.admin_id,
                                                                        identity.team_name)
    job.deletion_threshold = 10 ** 9
    job.save()
