"""The Dropbox emulator: command line, server routes and control routes."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from contextvars import ContextVar

from aiohttp import web

from emulators import demo
from emulators.base import CONTROL_PREFIX, Emulator, TokenBucket, common_arguments, json_response

from . import pages, wire
from .api import TeamApi, write_paths
from .oauth import OAuth
from .state import OUTSIDE_ACCOUNT_FAILURES, ROLES_BY_ID, SEED_HELP, TEAM_ADMIN, build_team

DEFAULT_PORT = 8102
#: the team a request is about, when the emulator holds several (``--teams``)
_request_team: ContextVar = ContextVar("dropbox_emulator_team", default=None)


def nth_address(email: str, number: int) -> str:
    """Team ``number``'s version of an address: the first team keeps it, team 2 gets ``admin2@…``."""
    if number == 1:
        return email
    local, _, domain = email.partition("@")
    return f"{local}{number}@{domain}"
#: Members shown on the admin console page; a larger team gets a note instead of a huge page.
CONSOLE_ROWS = 1000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.dropbox",
        description="Emulate the Dropbox team API (https://api.dropboxapi.com/2/team/...) and Dropbox's "
        "OAuth pages (https://www.dropbox.com/oauth2/authorize, /oauth2/token) for the official SDK.",
    )
    common_arguments(parser, default_port=DEFAULT_PORT)
    team = parser.add_argument_group("team")
    team.add_argument("--seed", default="demo", help=f"initial team: {SEED_HELP} (default: %(default)s)")
    team.add_argument("--team-name", default=demo.DEMO_TEAM_NAME, help="team name (default: %(default)s)")
    team.add_argument("--teams", type=int, default=1, metavar="N",
                      help="how many teams, as Dropbox serves many on one API: team N (2 and up) is named "
                           "'<team name> N', its admin and member are admin N@… and member N@… (e.g. "
                           "admin2@contoso.com), with the same passwords; a token speaks for its own team, "
                           "control routes take ?team=N (default: %(default)s)")
    team.add_argument("--licenses", type=int, default=1000,
                      help="licenses the team has; adds beyond them fail with team_license_limit (default: %(default)s)")
    team.add_argument("--auto-accept-seconds", type=float, default=None, metavar="N",
                      help="an invited member accepts N seconds after the invitation and becomes active; "
                      "without it invitations stay pending")
    team.add_argument("--write-rate-limit", type=float, default=0.0, metavar="N",
                      help="write calls per second allowed per team before answering 429 "
                      "too_many_write_operations; 0 means unlimited (default: 0)")
    team.add_argument("--async-job-seconds", type=float, default=0.5, metavar="S",
                      help="how long asynchronous jobs (large adds, removals with a transfer, group changes) "
                      "stay in_progress (default: %(default)s)")
    team.add_argument("--persistent-ids", action="store_true",
                      help="the team has SAML persistent IDs enabled (otherwise they fail with persistent_id_disabled)")

    auth = parser.add_argument_group("accounts and OAuth")
    auth.add_argument("--app-key", default=demo.DEMO_DROPBOX_APP_KEY, help="the API app's key, or client_id (default: %(default)s)")
    auth.add_argument("--app-secret", default=None,
                      help="the API app's secret; generated and printed at start when not given")
    auth.add_argument("--app-name", default="Azure AD", help="app name shown on the consent page (default: %(default)s)")
    auth.add_argument("--redirect-uri", action="append", default=[], metavar="URI",
                      help="a redirect URI registered for the app (repeatable); any other is refused. "
                      "Without any, every http(s)://127.0.0.1 or localhost URI is accepted")
    auth.add_argument("--admin-email", default=demo.DEMO_ADMIN["email"],
                      help="the team admin who signs in to authorize (default: %(default)s)")
    auth.add_argument("--admin-password", default=None,
                      help="the admin's password; generated and printed at start when not given")
    auth.add_argument("--member-email", default=demo.DEMO_NON_ADMIN["email"],
                      help="a team member without admin rights who can sign in too (default: %(default)s)")
    auth.add_argument("--member-password", default=None,
                      help="that member's password; generated and printed at start when not given")
    auth.add_argument("--admin-token", default=None, metavar="TOKEN",
                      help="also accept TOKEN as a long-lived team token of the admin, as one generated in the App Console")
    auth.add_argument("--token-lifetime", type=int, default=14400, metavar="S",
                      help="seconds an access token lives (expires_in); at 300 or less the SDK refreshes "
                      "before every call (default: %(default)s)")
    return parser


class DropboxEmulator(Emulator):
    """The team API, the OAuth pages and the admin console page of one Dropbox team."""

    name = "dropbox"
    tunables = Emulator.tunables + (
        "write_rate_limit", "auto_accept_seconds", "licenses", "token_lifetime", "async_job_seconds",
    )

    def __init__(self, args: argparse.Namespace):
        super().__init__(args)
        generated = []
        for option in ("app_secret", "admin_password", "member_password"):
            if not getattr(args, option):
                setattr(args, option, secrets.token_urlsafe(18))
                generated.append(f"--{option.replace('_', '-')} {getattr(args, option)}")
        if generated:
            print("dropbox emulator generated: " + "  ".join(generated), flush=True)
        self.write_rate_limit = float(args.write_rate_limit)
        self.write_buckets = TokenBucket(self.write_rate_limit)
        self.auto_accept_seconds = args.auto_accept_seconds
        self.token_lifetime = int(args.token_lifetime)
        self.async_job_seconds = float(args.async_job_seconds)
        self.oauth = OAuth(self)
        self.api = TeamApi(self)
        self._write_paths = write_paths()

    # ------------------------------------------------------------------ state
    @property
    def state(self):
        """The team of the request being answered (the first one outside a request)."""
        team = _request_team.get()
        if team is not None:
            return team
        return self.teams[0] if getattr(self, "teams", None) else None

    @state.setter
    def state(self, value) -> None:
        # a state file of several teams holds their list
        self.teams = list(value) if isinstance(value, list) else ([] if value is None else [value])

    def persisted(self):
        return self.teams if len(self.teams) > 1 else self.state

    def seed(self, name: str) -> None:
        teams = []
        for number in range(1, max(1, int(getattr(self.args, "teams", 1) or 1)) + 1):
            team = build_team(
                name,
                team_name=self.args.team_name if number == 1 else f"{self.args.team_name} {number}",
                admin_email=nth_address(self.args.admin_email, number),
                member_email=nth_address(self.args.member_email, number),
                licenses=self.args.licenses,
                random_seed=self.args.random_seed + number - 1,
            )
            team.persistent_ids_enabled = self.args.persistent_ids
            if self.auto_accept_seconds is not None:
                team.reschedule_accepts(self.auto_accept_seconds)
            teams.append(team)
        self.teams = teams

    def settle(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        teams = [self.state] if _request_team.get() is not None else self.teams
        changed = [team.settle(now, auto_accept_seconds=self.auto_accept_seconds, job_seconds=self.async_job_seconds)
                   for team in teams]
        if any(changed):
            self.mark_changed()

    def team_number(self, number: int):
        return self.teams[number - 1] if 1 <= number <= len(self.teams) else None

    async def _team_of(self, request: web.Request):
        """Which team a request is about: its bearer token's, its signed-in admin's, its code's or refresh
        token's; ?team=N on the control routes and the console page; else the first."""
        teams = self.teams
        if request.path.startswith("/2/"):
            token = request.headers.get("Authorization", "").partition(" ")[2].strip()
            return next((t for t in teams if token in t.access_tokens), None)
        if request.path.startswith("/oauth2/") and request.method == "POST":
            # the token endpoint takes its parameters in the query string as well as in the body
            form = {**request.query, **(await request.post())}
            email = str(form.get("login_email", "")).strip()
            if email:
                return next((t for t in teams if t.member_by_email(email)), None)
            pending = self.oauth.pending_member(str(form.get("ticket", "")), str(form.get("code", "")))
            if pending:
                return next((t for t in teams if pending in t.members), None)
            refresh = str(form.get("refresh_token", ""))
            if refresh:
                return next((t for t in teams if refresh in t.refresh_tokens), None)
            return None
        number = request.query.get("team")
        return self.team_number(int(number)) if number and number.isdigit() else None

    @web.middleware
    async def _bind_team(self, request: web.Request, handler):
        if len(self.teams) < 2:
            return await handler(request)
        bound = _request_team.set(await self._team_of(request) or self.teams[0])
        try:
            return await handler(request)
        finally:
            _request_team.reset(bound)

    def build_app(self) -> web.Application:
        app = super().build_app()
        app.middlewares.insert(0, self._bind_team)  # before the rate limits, which count per team
        return app

    @property
    def licenses(self) -> int:
        return self.state.licenses

    @licenses.setter
    def licenses(self, value: int) -> None:
        self.state.licenses = value

    def configure(self, values: dict) -> None:
        values = dict(values)
        for key, kind in (("latency_ms", float), ("rate_limit", float), ("fail_rate", float),
                          ("write_rate_limit", float), ("licenses", int), ("token_lifetime", int),
                          ("async_job_seconds", float)):
            if key in values:
                values[key] = kind(values[key])
        if "auto_accept_seconds" in values and values["auto_accept_seconds"] is not None:
            values["auto_accept_seconds"] = float(values["auto_accept_seconds"])
        super().configure(values)
        # A new limit starts with full buckets, so one test's spending never reaches the next.
        if "rate_limit" in values:
            self.buckets = TokenBucket(self.rate_limit)
        self.write_buckets = TokenBucket(self.write_rate_limit)
        if "auto_accept_seconds" in values:
            self.state.reschedule_accepts(self.auto_accept_seconds)
        if "licenses" in values:
            self.mark_changed()

    def summary(self) -> dict:
        """The whole team, so tests can assert exactly what it holds."""
        team = self.state
        now = time.time()
        self.settle(now)
        group_names = {g.group_id: g.name for g in team.groups.values()}
        members = []
        for tmid in team.order_ids:
            member = team.members.get(tmid)
            if member is None:
                continue
            entry = {
                "email": member.email,
                "status": member.status,
                "given_name": member.given_name,
                "surname": member.surname,
                "external_id": member.external_id,
                "team_member_id": member.team_member_id,
                "roles": [ROLES_BY_ID[r].name for r in member.role_ids if r in ROLES_BY_ID],
                "groups": [group_names[g] for g in team.member_group_ids(member) if g in group_names],
                "files": list(getattr(member, "files", [])),
            }
            if member.status == "removed":
                entry["is_recoverable"] = team.is_recoverable(member, now)
            members.append(entry)
        groups = [
            {
                "group_id": g.group_id,
                "group_name": g.name,
                "group_external_id": g.external_id,
                "group_management_type": g.management_type,
                "member_count": team.group_member_count(g),
                "members": [m.email for m, _ in team.group_members(g)] if not g.everyone else None,
            }
            for g in team.groups_in_order()
        ]
        return {
            "team": {
                "name": team.name,
                "team_id": team.team_id,
                "num_licensed_users": team.licenses,
                "num_provisioned_users": team.provisioned,
                "num_used_licenses": team.used_licenses,
                "counts": dict(team.counts),
                "members": len(members),
                "groups": len(groups),
            },
            "members": members,
            "groups": groups,
            "welcome_emails": list(getattr(team, "welcome_emails", [])),
            "tokens": {
                "access": sum(1 for t in team.access_tokens.values() if not t.revoked),
                "refresh": sum(1 for t in team.refresh_tokens.values() if not t.revoked),
            },
        }

    # ------------------------------------------------------------------ base hooks
    def rate_limit_key(self, request: web.Request) -> str | None:
        # Dropbox limits calls per team; its web pages and token endpoint are not counted.
        return self.state.team_id if request.path.startswith("/2/") else None

    def too_many(self, retry_after: int, reason: str = "too_many_requests") -> web.Response:
        body = wire.error_body(reason)
        body["error"] = {"reason": {".tag": reason}, "retry_after": retry_after}
        return json_response(body, status=429, headers={"Retry-After": str(retry_after)})

    def rate_limited(self, request: web.Request, retry_after: int) -> web.StreamResponse:
        return self.too_many(retry_after)

    def injected_failure(self, request: web.Request, status: int) -> web.StreamResponse:
        if status == 503:
            return web.Response(status=503, text="Service Unavailable", headers={"Retry-After": "1"})
        return json_response(
            {"error": "The server has either erred or is incapable of performing the requested operation."},
            status=500,
        )

    def is_write(self, request: web.Request) -> bool:
        return request.method == "POST" and (request.path in self._write_paths or request.path.startswith("/oauth2/"))

    # ------------------------------------------------------------------ routes
    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/2/{function:.+}", self.api.handle)
        app.router.add_get("/oauth2/authorize", self.oauth.authorize)
        app.router.add_post("/oauth2/authorize", self.oauth.sign_in)
        app.router.add_post("/oauth2/authorize/decision", self.oauth.decide)
        app.router.add_post("/oauth2/token", self.oauth.token)
        app.router.add_get("/team/admin/members", self._console_members)
        app.router.add_post(CONTROL_PREFIX + "tokens/revoke", self._revoke_tokens)
        app.router.add_post(CONTROL_PREFIX + "members/{email}/{action}", self._member_action)
        app.router.add_post(CONTROL_PREFIX + "accounts", self._outside_accounts)
        app.router.add_get(CONTROL_PREFIX + "journal", self._journal)
        app.on_response_prepare.append(self._request_id)

    @staticmethod
    async def _request_id(request: web.Request, response: web.StreamResponse) -> None:
        # Every answer of the real service carries one; the SDK puts it on its exceptions.
        if "x-dropbox-request-id" not in response.headers:
            response.headers["x-dropbox-request-id"] = os.urandom(16).hex()

    async def _console_members(self, request: web.Request) -> web.Response:
        self.settle()
        team = self.state
        members = []
        for tmid in team.order_ids:
            member = team.members.get(tmid)
            if member is not None:
                members.append(member)
                if len(members) == CONSOLE_ROWS:
                    break
        page = pages.admin_members(team, members, total=len(team.members))
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    async def _journal(self, request: web.Request) -> web.Response:
        """Every change made through the API since the seed: [route, member or group id]."""
        self.settle()
        return web.json_response({"writes": [list(entry) for entry in getattr(self.state, "journal", [])]})

    async def _revoke_tokens(self, request: web.Request) -> web.Response:
        revoked = self.oauth.revoke_all()
        self.mark_changed()
        return web.json_response({"revoked": revoked})

    async def _member_action(self, request: web.Request) -> web.Response:
        """``demote``/``promote`` (lose or gain the Team admin role, no questions asked),
        ``accept`` (accept a pending invitation now), ``files`` (``{"paths": [...]}``: put
        files in the member's Dropbox, as the person would by using it)."""
        self.settle()
        team = self.state
        member = team.member_by_email(request.match_info["email"])
        action = request.match_info["action"]
        if member is None:
            return web.json_response({"error": "no such member"}, status=404)
        if action == "demote":
            team.force_roles(member, [r for r in member.role_ids if r != TEAM_ADMIN.role_id])
        elif action == "promote":
            if TEAM_ADMIN.role_id not in member.role_ids:
                team.force_roles(member, [TEAM_ADMIN.role_id, *member.role_ids])
        elif action == "accept":
            if member.status != "invited":
                return web.json_response({"error": f"member is {member.status}, not invited"}, status=409)
            team.accept_invitation(member, time.time())
        elif action == "files":
            body = await request.json() if request.can_read_body else {}
            paths = body.get("paths")
            if not isinstance(paths, list) or not all(isinstance(p, str) and p.strip("/") for p in paths):
                return web.json_response({"error": "paths must be a list of file paths"}, status=400)
            member.files = [*getattr(member, "files", []), *paths]
        else:
            return web.json_response({"error": f"unknown action {action!r}"}, status=404)
        self.mark_changed()
        return web.json_response({"email": member.email, "status": member.status,
                                  "roles": [ROLES_BY_ID[r].name for r in member.role_ids]})

    async def _outside_accounts(self, request: web.Request) -> web.Response:
        """``{"someone@example.com": "user_on_another_team", ...}``: accounts outside the team,
        and the failure ``members/add_v2`` meets for them (null forgets one)."""
        body = await request.json()
        for email, failure in body.items():
            if failure is None:
                self.state.outside_accounts.pop(email.lower(), None)
            elif failure in OUTSIDE_ACCOUNT_FAILURES:
                self.state.outside_accounts[email.lower()] = failure
            else:
                return web.json_response(
                    {"error": f"unknown failure {failure!r}; one of {', '.join(OUTSIDE_ACCOUNT_FAILURES)}"}, status=400,
                )
        self.mark_changed()
        return web.json_response(self.state.outside_accounts)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    emulator = DropboxEmulator(args)
    try:
        emulator.load_or_seed(args.seed)
    except ValueError as exc:
        sys.exit(f"python -m emulators.dropbox: {exc}")
    emulator.run()
