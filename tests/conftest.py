"""Fixtures shared by the whole suite: live emulators, named users, and the
rule that a missing system component may skip a test on a laptop but fails it
in CI (``CI=true``)."""

from __future__ import annotations

import os

import pytest

from emulators.process import EmulatorProcess

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, component: str) -> None:
    """Skip when a system component is missing, except in CI where that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{component} is required in CI but is missing")
    pytest.skip(f"{component} is not installed on this machine")


@pytest.fixture(scope="session")
def graph_emulator():
    """A Graph / Entra emulator for the whole session; tests reset it to the seed they need."""
    with EmulatorProcess("graph", "--seed", "empty") as emulator:
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
            "--app-secret", self.app_secret,
            "--admin-password", self.admin_password,
            "--member-password", self.member_password,
            "--admin-token", self.admin_token,
            **kwargs,
        )

    #: run-time settings as the fixture starts them; ``reset`` puts them back
    DEFAULT_SETTINGS = dict(
        latency_ms=0, rate_limit=0, fail_rate=0, write_rate_limit=0, auto_accept_seconds=None,
        token_lifetime=14400, async_job_seconds=0.5,
    )

    def reset(self, seed: str = "empty", **extra) -> dict:
        """Replace the team with a seed, and undo what earlier tests configured."""
        self.configure(**self.DEFAULT_SETTINGS)
        return super().reset(seed, **extra)

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
