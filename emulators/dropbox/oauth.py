"""Dropbox's OAuth 2 endpoints: the authorize pages (sign-in, then consent
with "Allow" and "Cancel"), the token endpoint (authorization codes with a
client secret or PKCE, refresh tokens), and checking the bearer tokens that
the API routes receive.

Answers follow the real service: an unknown ``client_id`` or an unregistered
``redirect_uri`` gets an error page and no redirect; the token endpoint answers
errors with HTTP 400 and ``{"error", "error_description"}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from emulators.base import json_response

from . import pages
from .api import AuthFailure
from .state import AccessToken, Member, RefreshToken

#: Scopes of a scoped team app with everything member and group provisioning needs.
APP_SCOPES = (
    "account_info.read",
    "groups.read",
    "groups.write",
    "members.delete",
    "members.read",
    "members.write",
    "team_data.member",
    "team_info.read",
)
CODE_LIFETIME_SECONDS = 600
SIGN_IN_LIFETIME_SECONDS = 900
ACCESS_TYPES = ("offline", "online", "legacy")
#: The query parameters of /oauth2/authorize carried from page to page.
AUTHORIZE_PARAMS = (
    "response_type", "client_id", "redirect_uri", "state", "token_access_type",
    "code_challenge", "code_challenge_method", "scope", "include_granted_scopes",
    "force_reapprove", "locale",
)
DENIED_DESCRIPTION = "The user chose not to give your app access to their Dropbox account."


@dataclass
class Authorization:
    """What a sign-in or a code stands for between two requests."""

    params: dict
    member_id: str
    expires_at: float


class OAuth:
    def __init__(self, emulator):
        self.emulator = emulator
        self.args = emulator.args
        self._sign_ins: dict[str, Authorization] = {}
        self._codes: dict[str, Authorization] = {}
        self._issued = 0

    # ------------------------------------------------------------------ helpers
    @property
    def team(self):
        return self.emulator.state

    def _redirect_allowed(self, uri: str) -> bool:
        # Dropbox wants the exact URI registered in the App Console, "even 'localhost'".
        if self.args.redirect_uri:
            return uri in self.args.redirect_uri
        # With none registered, the emulator stands for a development app open to local addresses.
        parts = urlsplit(uri)
        return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost") and not parts.fragment

    def _check_authorize(self, params: dict) -> str | None:
        """What is wrong with an authorize request, as the error page says it; None if nothing."""
        client_id = params.get("client_id")
        if not client_id:
            return "Missing client_id."
        if client_id != self.args.app_key:
            return f'Invalid client_id: "{client_id}".'
        redirect_uri = params.get("redirect_uri")
        if redirect_uri is not None and not self._redirect_allowed(redirect_uri):
            return (
                f'Invalid redirect_uri: "{redirect_uri}". It must exactly match one of the redirect URIs '
                "you've pre-configured for your app (including the path)."
            )
        if params.get("response_type") != "code":
            return f'Invalid response_type: "{params.get("response_type", "")}". Expected "code".'
        access_type = params.get("token_access_type")
        if access_type is not None and access_type not in ACCESS_TYPES:
            return f'Invalid token_access_type: "{access_type}".'
        if params.get("code_challenge") is not None:
            if params.get("code_challenge_method", "plain") not in ("S256", "plain"):
                return f'Invalid code_challenge_method: "{params.get("code_challenge_method")}".'
            if not 43 <= len(params["code_challenge"]) <= 128:
                return "Invalid code_challenge: it must be between 43 and 128 characters."
        scope = params.get("scope")
        if scope is not None:
            unknown = [s for s in scope.split() if s not in APP_SCOPES]
            if unknown:
                return f'Invalid scope: "{" ".join(unknown)}" is not a scope of this app.'
        return None

    def _accounts(self) -> dict[str, str]:
        from .app import nth_address

        accounts = {}
        for number in range(1, max(1, len(getattr(self.emulator, "teams", []))) + 1):
            accounts[nth_address(self.args.admin_email, number).lower()] = self.args.admin_password
            accounts[nth_address(self.args.member_email, number).lower()] = self.args.member_password
        return accounts

    def pending_member(self, ticket: str, code: str) -> str | None:
        """The member id of a sign-in waiting for its decision, or of a code not yet exchanged."""
        pending = self._sign_ins.get(ticket) if ticket else None
        pending = pending or (self._codes.get(code) if code else None)
        return pending.member_id if pending else None

    @staticmethod
    def _html(body: str, status: int = 200) -> web.Response:
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")

    def _prune(self, store: dict, now: float) -> None:
        for key in [k for k, v in store.items() if v.expires_at < now]:
            del store[key]

    # ------------------------------------------------------------------ authorize pages
    async def authorize(self, request: web.Request) -> web.Response:
        """GET /oauth2/authorize: the sign-in page (or an error page)."""
        params = {k: request.query[k] for k in AUTHORIZE_PARAMS if k in request.query}
        problem = self._check_authorize(params)
        if problem:
            return self._html(pages.error(problem), status=400)
        return self._html(pages.sign_in(self.args.app_name, params))

    async def sign_in(self, request: web.Request) -> web.Response:
        """POST /oauth2/authorize: check the email and password, then ask for consent."""
        form = await request.post()
        params = {k: form[k] for k in AUTHORIZE_PARAMS if k in form}
        problem = self._check_authorize(params)
        if problem:
            return self._html(pages.error(problem), status=400)
        email = str(form.get("login_email", "")).strip()
        password = str(form.get("login_password", ""))
        expected = self._accounts().get(email.lower())
        member = self.team.member_by_email(email) if email else None
        if expected is None or member is None or not hmac.compare_digest(password.encode(), expected.encode()):
            return self._html(pages.sign_in(
                self.args.app_name, params, email=email,
                error="The email or password you entered is incorrect. Please try again.",
            ))
        if member.status != "active":
            return self._html(pages.sign_in(
                self.args.app_name, params, email=email,
                error="This account is not an active member of its team.",
            ))
        now = time.time()
        self._prune(self._sign_ins, now)
        ticket = secrets.token_urlsafe(24)
        self._sign_ins[ticket] = Authorization(params, member.team_member_id, now + SIGN_IN_LIFETIME_SECONDS)
        return self._html(pages.consent(self.args.app_name, ticket, member, self.team))

    async def decide(self, request: web.Request) -> web.StreamResponse:
        """POST /oauth2/authorize/decision: "Allow" issues a code, "Cancel" refuses."""
        form = await request.post()
        now = time.time()
        sign_in = self._sign_ins.pop(str(form.get("ticket", "")), None)
        if sign_in is None or sign_in.expires_at < now:
            return self._html(pages.error("This sign-in has expired. Start again from the app."), status=400)
        params = sign_in.params
        redirect_uri = params.get("redirect_uri")
        state = params.get("state")
        if form.get("decision") != "allow":
            if redirect_uri is None:
                return self._html(pages.cancelled(self.args.app_name))
            query = {"error": "access_denied", "error_description": DENIED_DESCRIPTION}
            if state is not None:
                query["state"] = state
            raise web.HTTPFound(self._append_query(redirect_uri, query))
        self._prune(self._codes, now)
        code = secrets.token_urlsafe(32)
        self._codes[code] = Authorization(params, sign_in.member_id, now + CODE_LIFETIME_SECONDS)
        if redirect_uri is None:
            return self._html(pages.code(self.args.app_name, code))
        query = {"code": code}
        if state is not None:
            query["state"] = state
        raise web.HTTPFound(self._append_query(redirect_uri, query))

    @staticmethod
    def _append_query(uri: str, query: dict) -> str:
        return uri + ("&" if urlsplit(uri).query else "?") + urlencode(query)

    # ------------------------------------------------------------------ token endpoint
    @staticmethod
    def _token_error(error: str, description: str, status: int = 400) -> web.Response:
        return json_response({"error": error, "error_description": description}, status=status)

    async def token(self, request: web.Request) -> web.Response:
        """POST /oauth2/token."""
        params = dict(request.query)
        if request.body_exists:  # (read already, and kept, when the emulator looked up whose team it is)
            params.update({k: str(v) for k, v in (await request.post()).items()})
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        authorization = request.headers.get("Authorization", "")
        if authorization.lower().startswith("basic "):
            try:
                basic_id, _, basic_secret = base64.b64decode(authorization[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return self._token_error("invalid_client", "Invalid client_id or client_secret")
            client_id = client_id or basic_id
            client_secret = client_secret or basic_secret
        if not client_id:
            return self._token_error("invalid_request", "No auth function available for given request")
        if client_id != self.args.app_key:
            return self._token_error("invalid_client", "Invalid client_id or client_secret")
        if client_secret is not None and not hmac.compare_digest(client_secret.encode(), self.args.app_secret.encode()):
            return self._token_error("invalid_client", "Invalid client_id or client_secret")
        grant_type = params.get("grant_type")
        if not grant_type:
            return self._token_error("invalid_request", "No grant_type provided")
        if grant_type == "authorization_code":
            return self._grant_code(params, client_id, client_secret is not None)
        if grant_type == "refresh_token":
            return self._grant_refresh(params, client_id, client_secret is not None)
        return self._token_error("unsupported_grant_type", f'Unsupported grant_type: "{grant_type}"')

    def _grant_code(self, params: dict, client_id: str, authenticated: bool) -> web.Response:
        code = params.get("code")
        if not code:
            return self._token_error("invalid_request", "No code provided")
        now = time.time()
        grant = self._codes.get(code)
        if grant is None or grant.expires_at < now or grant.params.get("client_id") != client_id:
            return self._token_error("invalid_grant", "code doesn't exist or has expired")
        asked = grant.params
        if params.get("redirect_uri") != asked.get("redirect_uri"):
            return self._token_error("invalid_grant", "redirect_uri mismatch")
        challenge = asked.get("code_challenge")
        if challenge is not None:
            verifier = params.get("code_verifier", "")
            if asked.get("code_challenge_method", "plain") == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            else:
                computed = verifier
            if not verifier or not hmac.compare_digest(computed, challenge):
                return self._token_error("invalid_grant", "invalid code verifier")
        elif not authenticated:
            return self._token_error("invalid_request", "No auth function available for given request")
        # A code is good for one exchange only.
        del self._codes[code]
        member = self.team.members.get(grant.member_id)
        if member is None:
            return self._token_error("invalid_grant", "code doesn't exist or has expired")
        scope = tuple(asked["scope"].split()) if asked.get("scope") else APP_SCOPES
        access_type = asked.get("token_access_type") or "online"
        refresh = None
        if access_type == "offline":
            refresh = RefreshToken(
                secrets.token_urlsafe(48), member.team_member_id, client_id, scope,
                public=challenge is not None and not authenticated,
            )
            self.team.refresh_tokens[refresh.token] = refresh
        access = self._issue_access(member, scope, refresh, long_lived=access_type == "legacy", now=now)
        body = self._token_body(access, now)
        if refresh is not None:
            body["refresh_token"] = refresh.token
        body.update(
            scope=" ".join(scope),
            uid=member.uid,
            account_id=member.account_id,
            team_id=self.team.team_id,
        )
        return json_response(body)

    def _grant_refresh(self, params: dict, client_id: str, authenticated: bool) -> web.Response:
        token = params.get("refresh_token")
        if not token:
            return self._token_error("invalid_request", "No refresh_token provided")
        record = self.team.refresh_tokens.get(token)
        if record is None or record.revoked or record.client_id != client_id:
            return self._token_error("invalid_grant", "refresh token is invalid or revoked")
        if not record.public and not authenticated:
            return self._token_error("invalid_request", "No auth function available for given request")
        scope = record.scope
        if params.get("scope"):
            asked = tuple(params["scope"].split())
            if any(s not in record.scope for s in asked):
                return self._token_error("invalid_scope", "The requested scope exceeds the granted scope")
            scope = asked
        member = self.team.members.get(record.member_id)
        if member is None:
            return self._token_error("invalid_grant", "refresh token is invalid or revoked")
        now = time.time()
        access = self._issue_access(member, scope, record, long_lived=False, now=now)
        return json_response(self._token_body(access, now))

    def _issue_access(self, member: Member, scope, refresh: RefreshToken | None, *, long_lived: bool, now: float):
        lifetime = None if long_lived else int(self.emulator.token_lifetime)
        access = AccessToken(
            "sl." + secrets.token_urlsafe(96), member.team_member_id, tuple(scope),
            None if lifetime is None else now + lifetime,
            refresh.token if refresh else None,
        )
        tokens = self.team.access_tokens
        tokens[access.token] = access
        self._issued += 1
        if self._issued % 500 == 0:
            # Forget tokens long expired; recently expired ones still answer expired_access_token.
            for key in [k for k, t in tokens.items() if t.expires_at is not None and t.expires_at < now - 86400]:
                del tokens[key]
        return access

    def _token_body(self, access: AccessToken, now: float) -> dict:
        body = {"access_token": access.token, "token_type": "bearer"}
        if access.expires_at is not None:
            body["expires_in"] = round(access.expires_at - now)
        return body

    # ------------------------------------------------------------------ bearer tokens
    def authenticate(self, token: str, now: float) -> tuple[Member, tuple | None, AccessToken | None]:
        """Who a bearer token speaks for, its scopes (None: all), and its record."""
        team = self.team
        admin_token = self.args.admin_token
        if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
            # It stays the token of the admin who made it, whatever their address becomes.
            member = team.members.get(team.admin_token_member_id or "")
            if team.admin_token_revoked or member is None:
                raise AuthFailure("invalid_access_token")
            return member, None, None
        record = team.access_tokens.get(token)
        if record is None or record.revoked:
            raise AuthFailure("invalid_access_token")
        if record.expires_at is not None and now >= record.expires_at:
            raise AuthFailure("expired_access_token")
        member = team.members.get(record.member_id)
        if member is None:
            raise AuthFailure("invalid_access_token")
        return member, record.scope, record

    def revoke_token(self, record: AccessToken | None) -> None:
        """``auth/token/revoke``: the token, and with it its refresh token and that one's other tokens."""
        team = self.team
        if record is None:
            team.admin_token_revoked = True
            return
        record.revoked = True
        if record.refresh_token:
            refresh = team.refresh_tokens.get(record.refresh_token)
            if refresh is not None:
                refresh.revoked = True
            for other in team.access_tokens.values():
                if other.refresh_token == record.refresh_token:
                    other.revoked = True

    def revoke_all(self) -> dict:
        team = self.team
        for record in team.access_tokens.values():
            record.revoked = True
        for record in team.refresh_tokens.values():
            record.revoked = True
        team.admin_token_revoked = True
        return {"access_tokens": len(team.access_tokens), "refresh_tokens": len(team.refresh_tokens)}
