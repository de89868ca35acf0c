"""Fixtures shared by the whole suite: live emulators, named users, and the
rule that a missing system component may skip a test on a laptop but fails it
in CI (``CI=true``)."""

from __future__ import annotations

import os

import pytest

from emulators.process import EmulatorProcess

pytest_plugins = ["tests.fixtures", "tests.services"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, component: str) -> None:
    """Skip when a system component is missing, except in CI where that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{component} is required in CI but is missing")
    pytest.skip(f"{component} is not installed on this machine")


class GraphEmulatorProcess(EmulatorProcess):
    """The Graph / Entra ID emulator, with the credentials this test session gave it
    and clients (msal, requests) routed to it."""

    def __init__(self, *args, **kwargs):
        import secrets

        from emulators.demo import DEMO_CLIENT_ID, DEMO_TENANT_ID

        self.tenant_id = DEMO_TENANT_ID
        self.client_id = DEMO_CLIENT_ID
        self.client_secret = secrets.token_urlsafe(30)
        # Complex enough for Entra's password rule (four character classes).
        self.user_password = "Pw-" + secrets.token_urlsafe(12) + "a1A"
        super().__init__(
            "graph", *args,
            # "=" keeps a secret that starts with "-" from reading as a flag.
            f"--client-secret={self.client_secret}",
            f"--user-password={self.user_password}",
            **kwargs,
        )

    #: run-time settings as the fixture starts them; ``reset`` puts them back
    DEFAULT_SETTINGS = dict(
        latency_ms=0, rate_limit=0, fail_rate=0, token_fail_rate=0, token_lifetime=3599,
        delta_page_size=100, delta_members_chunk=1000, delta_token_lifetime=7 * 86400, empty_group_members=False,
        permissions=[
            "User.Read.All", "Group.Read.All", "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All",
            "Directory.Read.All", "User.ReadWrite.All", "Group.ReadWrite.All",
        ],
    )

    def reset(self, seed: str = "empty", **extra) -> dict:
        """Replace the tenant with a seed, and undo what earlier tests configured."""
        self.configure(**self.DEFAULT_SETTINGS)
        return super().reset(seed, **extra)

    @property
    def authority(self) -> str:
        return f"https://login.microsoftonline.com/{self.tenant_id}"

    def session(self):
        """A ``requests.Session`` that sends https://login.microsoftonline.com and
        https://graph.microsoft.com requests here."""
        from provisioning.connectors.routing import build_routes, routed_session

        return routed_session(build_routes(entra_login_url=self.url, graph_url=self.url))

    def msal_app(self, secret: str | None = None, session=None):
        """A fresh ``msal.ConfidentialClientApplication`` (fresh token and HTTP caches)."""
        import msal

        return msal.ConfidentialClientApplication(
            self.client_id, authority=self.authority, client_credential=secret or self.client_secret,
            http_client=session or self.session(),
        )

    def token(self) -> str:
        """A new application access token for Microsoft Graph."""
        result = self.msal_app().acquire_token_for_client(["https://graph.microsoft.com/.default"])
        assert "access_token" in result, result
        return result["access_token"]

    def graph(self, method: str, path: str, *, token: str | None = None, headers: dict | None = None,
              **kwargs):
        """A Graph call as a client makes it: ``path`` under https://graph.microsoft.com
        (e.g. ``/v1.0/users``) or an absolute link from an earlier answer; the raw answer."""
        if not hasattr(self, "_session"):
            self._session = self.session()
        if token is None:
            if getattr(self, "_token", None) is None:
                self._token = self.token()
            token = self._token
        url = path if path.startswith("http") else f"https://graph.microsoft.com{path}"
        kwargs.setdefault("timeout", 30)
        return self._session.request(method, url, headers={"Authorization": f"Bearer {token}", **(headers or {})},
                                     **kwargs)

    def delta_round(self, url: str, headers: dict | None = None) -> tuple[list[dict], str, int]:
        """Follow one delta round to its ``@odata.deltaLink``: (items, deltaLink, pages)."""
        items, pages = [], 0
        while True:
            answer = self.graph("GET", url, headers=headers)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            pages += 1
            items.extend(body["value"])
            assert not ("@odata.nextLink" in body and "@odata.deltaLink" in body)
            if "@odata.deltaLink" in body:
                return items, body["@odata.deltaLink"], pages
            url = body["@odata.nextLink"]

    def get_all(self, path: str, **kwargs) -> list[dict]:
        """Every item of a collection, following ``@odata.nextLink``."""
        items, url = [], path
        while url:
            answer = self.graph("GET", url, **kwargs)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            items.extend(body["value"])
            url = body.get("@odata.nextLink")
        return items


@pytest.fixture(scope="session")
def graph_emulator():
    """A Graph / Entra emulator for the whole session; tests reset it to the seed they need."""
    with GraphEmulatorProcess("--seed", "empty") as emulator:
        yield emulator


class DropboxEmulatorProcess(EmulatorProcess):
    """The Dropbox emulator, with the credentials this test session gave it and
    SDK clients routed to it."""

    def __init__(self, *args, **kwargs):
        import secrets

        from emulators.demo import DEMO_ADMIN, DEMO_DROPBOX_APP_KEY, DEMO_NON_ADMIN

        self.app_key = DEMO_DROPBOX_APP_KEY
        self.app_secret = secrets.token_urlsafe(16)
        self.admin_email = DEMO_ADMIN["email"]
        self.admin_password = secrets.token_urlsafe(12)
        self.member_email = DEMO_NON_ADMIN["email"]
        self.member_password = secrets.token_urlsafe(12)
        # A long-lived team token, as one generated in the App Console.
        self.admin_token = "team-" + secrets.token_urlsafe(32)
        super().__init__(
            "dropbox", *args,
            # "=" keeps a secret that starts with "-" from reading as a flag.
            f"--app-secret={self.app_secret}",
            f"--admin-password={self.admin_password}",
            f"--member-password={self.member_password}",
            f"--admin-token={self.admin_token}",
            **kwargs,
        )

    #: run-time settings as the fixture starts them; ``reset`` puts them back
    DEFAULT_SETTINGS = dict(
        latency_ms=0, rate_limit=0, fail_rate=0, write_rate_limit=0, auto_accept_seconds=None,
        token_lifetime=14400, async_job_seconds=0,
    )

    def reset(self, seed: str = "empty", **extra) -> dict:
        """Replace the team with a seed, and undo what earlier tests configured."""
        self.configure(**self.DEFAULT_SETTINGS)
        return super().reset(seed, **extra)

    def journal(self) -> list[tuple[str, str]]:
        """Every change made through the API since the last reset: (route, member or group id)."""
        return [tuple(entry) for entry in self.control("GET", "journal")["writes"]]

    def session(self):
        """A ``requests.Session`` that sends the SDK's https://*.dropbox*.com requests here."""
        from provisioning.connectors.routing import build_routes, routed_session

        return routed_session(build_routes(dropbox_api_url=self.url, dropbox_web_url=self.url))

    def team_client(self, token: str | None = None, **kwargs):
        """A ``dropbox.DropboxTeam`` on the admin's long-lived token (or ``token``),
        retrying nothing unless asked."""
        import dropbox

        kwargs.setdefault("max_retries_on_error", 0)
        kwargs.setdefault("max_retries_on_rate_limit", 0)
        if token is None and "oauth2_refresh_token" not in kwargs:
            token = self.admin_token
        return dropbox.DropboxTeam(oauth2_access_token=token, session=self.session(), **kwargs)

    def strict(self, stone_route, arg=None, *, token: str | None = None):
        """Call a ``dropbox.team`` route and decode its 200 answer strictly with the
        route's own result validator (unknown fields or tags fail)."""
        from stone.backends.python_rsrc import stone_serializers

        name = stone_route.name + (f"_v{stone_route.version}" if stone_route.version > 1 else "")
        if arg is not None and not isinstance(arg, (dict, list)):
            arg = stone_serializers.json_compat_obj_encode(stone_route.arg_type, arg)
        answer = self.call(f"team/{name}", arg, token=token)
        assert answer.status_code == 200, (answer.status_code, answer.text)
        assert answer.headers["Content-Type"] == "application/json"
        return stone_serializers.json_compat_obj_decode(stone_route.result_type, answer.json(), strict=True)

    def call(self, route: str, arg=None, *, token: str | None = None, headers: dict | None = None):
        """POST ``/2/<route>`` with a JSON argument as the SDK would; the raw ``requests`` answer."""
        import json

        import requests

        return requests.post(
            f"{self.url}/2/{route}",
            data=json.dumps(arg),
            headers={
                "Authorization": f"Bearer {token or self.admin_token}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
            timeout=30,
        )


@pytest.fixture(scope="session")
def dropbox_emulator():
    """A Dropbox team API emulator for the whole session; tests reset it to the seed they need."""
    with DropboxEmulatorProcess("--seed", "empty") as emulator:
        yield emulator


@pytest.fixture(scope="session", autouse=True)
def _clean_run_folders():
    """Remove this run's queue file and SQLite files when the session ends."""
    yield
    from pathlib import Path

    from django.conf import settings

    queue = Path(os.environ.get("CELERY_SQLITE_PATH", "/nonexistent"))
    for leftover in [*queue.parent.glob(queue.name + "*"),
                     *Path(settings.VAR_DIR).glob(f"test-portal-{os.environ.get('PORTAL_TEST_RUN')}.sqlite3*")]:
        leftover.unlink(missing_ok=True)


@pytest.fixture
def no_waiting(monkeypatch):
    """Connectors and the executor note the pauses they would make (retries, backoff) instead of
    sleeping: for tests of failures whose waits prove nothing. The list of pauses is returned."""
    from provisioning.connectors.entra import EntraConnector
    from provisioning.engine.execution import Executor
    from provisioning.targets.dropbox.connector import DropboxConnector

    pauses: list[float] = []
    for cls in (EntraConnector, DropboxConnector, Executor):
        monkeypatch.setattr(cls, "sleep", staticmethod(pauses.append))
    return pauses
