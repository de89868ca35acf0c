"""The Microsoft identity platform side: OpenID discovery, the v2.0 token
endpoint (client credentials, authorization code with PKCE, refresh token)
and a sign-in page for the authorization-code flow.

Discovery names https endpoints on the real host (``--authority-host``):
msal refuses anything else, and clients reach the emulator through a session
that rewrites the host.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
import uuid
from urllib.parse import unquote_plus, urlencode, urlsplit

from aiohttp import web

from .catalog import GRAPH_SCOPES, MICROSOFT_GRAPH_APP_ID
from .errors import AadError
from .tokens import b64url, seal, unseal

GRAPH_RESOURCES = {
    "https://graph.microsoft.com", "https://graph.microsoft.com/", MICROSOFT_GRAPH_APP_ID,
    "https://canary.graph.microsoft.com", "https://graph.microsoft.com/v1.0",
}
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
AAD_JSON = "application/json; charset=utf-8"
SESSION_COOKIE = "ESTSAUTH"
CODE_LIFETIME = 600
#: at most this many group ids in a JWT id token; above, the groups overage claim
GROUPS_CLAIM_LIMIT = 200

_NOT_FOUND_TEXT = ("Application with identifier '{client}' was not found in the directory '{tenant}'. This can "
                   "happen if the application has not been installed by the administrator of the tenant or "
                   "consented to by any user in the tenant. You may have sent your authentication request to "
                   "the wrong tenant.")


class Identity:
    """Routes under ``/{tenant}``; state that is not directory data lives here, in memory."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.pending: dict[str, dict] = {}      # sign-in page context -> authorize parameters
        self.codes: dict[str, dict] = {}        # authorization code -> grant
        self.sessions: dict[str, str] = {}      # session cookie -> user id

    # ------------------------------------------------------------------ helpers

    @property
    def d(self):
        return self.emulator.state

    @property
    def host(self) -> str:
        return self.emulator.args.authority_host.rstrip("/")

    def tenant_of(self, segment: str) -> bool:
        d = self.d
        return segment.lower() in {d.tenant_id.lower(), "organizations", "common",
                                   *(domain.lower() for domain in d.domains)}

    def _unknown_tenant(self, segment: str) -> AadError:
        return AadError(400, "invalid_tenant", 90002,
                        f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are "
                        f"signing into the correct cloud. Check with your subscription administrator, this may "
                        f"happen if there are no active subscriptions for the tenant.")

    def _aad_response(self, error: AadError, request: web.Request) -> web.Response:
        correlation = request.headers.get("client-request-id")
        body = error.body(correlation)
        response = web.json_response(body, status=error.status,
                                     headers={"x-ms-request-id": body["trace_id"]})
        response.content_type = "application/json"
        response.charset = "utf-8"
        return response

    def issuer(self) -> str:
        return f"{self.host}/{self.d.tenant_id}/v2.0"

    # ------------------------------------------------------------------ discovery

    async def openid_configuration(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        if not self.tenant_of(tenant):
            return self._aad_response(self._unknown_tenant(tenant), request)
        tid = self.d.tenant_id
        base = f"{self.host}/{tid}"
        body = {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{self.host}/{tid}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": self.issuer(),
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                                 "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr",
                                 "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
        response = web.json_response(body)
        response.content_type = "application/json"
        response.charset = "utf-8"
        return response

    async def instance_discovery(self, request: web.Request) -> web.Response:
        """``/common/discovery/instance``: msal asks it for the aliases of the authority host."""
        host = urlsplit(self.host).netloc
        aliases = list(dict.fromkeys([host, "login.microsoftonline.com", "login.windows.net",
                                      "login.microsoft.com", "sts.windows.net"]))
        body = {
            "tenant_discovery_endpoint": f"{self.host}/common/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [
                {"preferred_network": host, "preferred_cache": "login.windows.net", "aliases": aliases},
                {"preferred_network": "login.partner.microsoftonline.cn",
                 "preferred_cache": "login.partner.microsoftonline.cn",
                 "aliases": ["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"]},
                {"preferred_network": "login.microsoftonline.us", "preferred_cache": "login.microsoftonline.us",
                 "aliases": ["login.microsoftonline.us", "login.usgovcloudapi.net"]},
                {"preferred_network": "login-us.microsoftonline.com",
                 "preferred_cache": "login-us.microsoftonline.com", "aliases": ["login-us.microsoftonline.com"]},
            ],
        }
        response = web.json_response(body)
        response.content_type = "application/json"
        response.charset = "utf-8"
        return response

    async def keys(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        if not self.tenant_of(tenant):
            return self._aad_response(self._unknown_tenant(tenant), request)
        return web.json_response(self.emulator.rsa.jwks(self.issuer()))

    # ------------------------------------------------------------------ token endpoint

    async def token(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        if not self.tenant_of(tenant):
            return self._aad_response(self._unknown_tenant(tenant), request)
        form = dict(await request.post())
        try:
            body = self._grant(form, request)
        except AadError as error:
            return self._aad_response(error, request)
        response = web.json_response(body, headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})
        response.content_type = "application/json"
        response.charset = "utf-8"
        return response

    def _client(self, form: dict, request: web.Request) -> tuple[str, str | None]:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:]).decode()
                basic_id, _, basic_secret = decoded.partition(":")
                client_id = client_id or unquote_plus(basic_id)
                secret = secret or unquote_plus(basic_secret)
            except (ValueError, UnicodeDecodeError):
                pass
        if not client_id:
            raise AadError(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'client_id'.")
        if client_id != self.d.client_id:
            raise AadError(400, "unauthorized_client", 700016,
                           _NOT_FOUND_TEXT.format(client=client_id, tenant=self.d.tenant_name))
        return client_id, secret

    def _authenticate(self, client_id: str, secret: str | None, form: dict) -> None:
        if form.get("client_assertion"):
            raise AadError(401, "invalid_client", 700027,
                           "The certificate with identifier used to sign the client assertion is not registered "
                           "on application.")
        if not secret:
            raise AadError(401, "invalid_client", 7000218,
                           "The request body must contain the following parameter: 'client_assertion' or "
                           "'client_secret'.")
        if not secrets.compare_digest(secret, self.emulator.client_secret):
            raise AadError(401, "invalid_client", 7000215,
                           "Invalid client secret provided. Ensure the secret being sent in the request is the "
                           f"client secret value, not the client secret ID, for a secret added to app '{client_id}'.")

    def _grant(self, form: dict, request: web.Request) -> dict:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise AadError(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'grant_type'.")
        if grant_type not in ("client_credentials", "authorization_code", "refresh_token"):
            raise AadError(400, "unsupported_grant_type", 70003,
                           f"The app requested an unsupported grant type '{grant_type}'.")
        client_id, secret = self._client(form, request)
        self._authenticate(client_id, secret, form)
        if grant_type == "client_credentials":
            return self._client_credentials(form, client_id)
        if grant_type == "authorization_code":
            return self._authorization_code(form, client_id)
        return self._refresh(form, client_id)

    def _client_credentials(self, form: dict, client_id: str) -> dict:
        scope = (form.get("scope") or "").strip()
        if not scope:
            raise AadError(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'scope'.")
        own_api = {f"api://{client_id}", client_id}
        for item in scope.split():
            if not item.endswith("/.default"):
                raise AadError(400, "invalid_scope", 1002012,
                               f"The provided value for scope {item} is not valid. Client credential flows must have "
                               f"a scope value with /.default suffixed to the resource identifier (application ID "
                               f"URI).")
            resource = item[: -len("/.default")]
            if resource in own_api and len(scope.split()) == 1:
                return self._own_api_token(client_id, resource)
            if resource not in GRAPH_RESOURCES:
                raise AadError(400, "invalid_resource", 500011,
                               f"The resource principal named {resource} was not found in the tenant named "
                               f"{self.d.tenant_name}. This can happen if the application has not been installed by "
                               f"the administrator of the tenant or consented to by any user in the tenant. You might "
                               f"have sent your authentication request to the wrong tenant.")
        lifetime = int(self.emulator.token_lifetime)
        now = int(time.time())
        portal_sp = self.d.sps.get(self.d.sp_by_app.get(client_id, "")) if self.d.sp_by_app else None
        oid = portal_sp.id if portal_sp else client_id
        tid = self.d.tenant_id
        claims = {
            "aud": "https://graph.microsoft.com", "iss": f"https://sts.windows.net/{tid}/", "iat": now - 300,
            "nbf": now - 300, "exp": now + lifetime, "aio": b64url(secrets.token_bytes(24)),
            "app_displayname": self.d.client_name, "appid": client_id, "appidacr": "1",
            "idp": f"https://sts.windows.net/{tid}/", "idtyp": "app", "oid": oid,
            "rh": "0.A" + b64url(secrets.token_bytes(18)),
            "roles": list(self.emulator.permissions), "sub": oid, "tenant_region_scope": "NA", "tid": tid,
            "uti": b64url(secrets.token_bytes(16)), "ver": "1.0",
            "wids": ["0997a1d0-0d1d-4acb-b408-d5ca73121e90"], "xms_tcdt": 1600000000,
        }
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": self.emulator.sign_access_token(claims),
        }

    def _own_api_token(self, client_id: str, resource: str) -> dict:
        """A token for the app registration's own API (``api://{appId}/.default``): a v2.0 access
        token signed with the tenant's key, its ``roles`` the app's app roles assigned to the calling
        application's service principal, as Entra issues them for a custom API."""
        d = self.d
        lifetime = int(self.emulator.token_lifetime)
        now = int(time.time())
        sp = d.sps.get(d.sp_by_app.get(client_id, ""))
        oid = sp.id if sp else client_id
        roles: list[str] = []
        if sp is not None:
            values = {role["id"]: role.get("value") for role in sp.p.get("appRoles") or () if role.get("isEnabled")}
            roles = sorted({values[a.appRoleId] for a in d.assignments.get(sp.id, {}).values()
                            if a.principalId == sp.id and values.get(a.appRoleId)})
        claims = {
            "aud": client_id, "iss": self.issuer(), "iat": now - 300, "nbf": now - 300, "exp": now + lifetime,
            "aio": b64url(secrets.token_bytes(24)), "azp": client_id, "azpacr": "1", "idtyp": "app", "oid": oid,
            "rh": "0.A" + b64url(secrets.token_bytes(18)), "sub": oid, "tid": d.tenant_id,
            "uti": b64url(secrets.token_bytes(16)), "ver": "2.0",
        }
        if roles:
            claims["roles"] = roles
        return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                "access_token": self.emulator.rsa.sign(claims)}

    # ------------------------------------------------------------------ user sign-in

    def _parse_scopes(self, raw: str) -> tuple[list[str], list[str]]:
        """(OpenID scopes, Graph scopes in short form) or invalid_scope."""
        oidc, graph = [], []
        for item in raw.split():
            short = item
            for prefix in ("https://graph.microsoft.com/", f"{MICROSOFT_GRAPH_APP_ID}/"):
                if item.startswith(prefix):
                    short = item[len(prefix):]
            if short in OIDC_SCOPES:
                if short not in oidc:
                    oidc.append(short)
            elif short == ".default" or short in GRAPH_SCOPES:
                if short not in graph:
                    graph.append(short)
            else:
                raise AadError(400, "invalid_scope", 70011,
                               f"The provided value for the input parameter 'scope' is not valid. The scope "
                               f"'{item}' does not exist.")
        return oidc, graph

    def _user_tokens(self, user, client_id: str, oidc: list[str], graph: list[str], nonce: str | None,
                     auth_time: int | None) -> dict:
        lifetime = int(self.emulator.token_lifetime)
        now = int(time.time())
        tid = self.d.tenant_id
        graph_scopes = [s for s in graph if s != ".default"] or ["User.Read"]
        access = {
            "aud": MICROSOFT_GRAPH_APP_ID, "iss": f"https://sts.windows.net/{tid}/", "iat": now - 300,
            "nbf": now - 300, "exp": now + lifetime, "acr": "1", "amr": ["pwd"], "app_displayname": self.d.client_name,
            "appid": client_id, "appidacr": "1", "family_name": user.surname, "given_name": user.givenName,
            "idtyp": "user", "ipaddr": "127.0.0.1", "name": user.displayName, "oid": user.id,
            "rh": "0.A" + b64url(secrets.token_bytes(18)),
            "scp": " ".join(graph_scopes + [s for s in oidc if s != "offline_access"]),
            "sub": b64url(hashlib.sha256((user.id + client_id).encode()).digest()[:32]), "tid": tid,
            "unique_name": user.userPrincipalName, "upn": user.userPrincipalName,
            "uti": b64url(secrets.token_bytes(16)), "ver": "1.0",
        }
        body = {
            "token_type": "Bearer",
            "scope": " ".join([s for s in oidc if s != "offline_access"] + graph_scopes),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": self.emulator.sign_access_token(access),
        }
        if "offline_access" in oidc:
            body["refresh_token"] = seal({"t": "rt", "u": user.id, "c": client_id, "o": oidc, "g": graph,
                                          "at": now, "n": secrets.token_hex(8)},
                                         self.d.signing_key + b"refresh")
        if "openid" in oidc:
            claims = {
                "aud": client_id, "iss": self.issuer(), "iat": now, "nbf": now, "exp": now + 3600,
                "name": user.displayName, "oid": user.id, "preferred_username": user.userPrincipalName,
                "rh": "0.A" + b64url(secrets.token_bytes(18)), "sid": str(uuid.uuid4()),
                "sub": access["sub"], "tid": tid, "uti": b64url(secrets.token_bytes(16)), "ver": "2.0",
            }
            if nonce:
                claims["nonce"] = nonce
            if auth_time:
                claims["auth_time"] = auth_time
            if "email" in oidc and user.mail:
                claims["email"] = user.mail
            claims.update(self._membership_claims(user, client_id))
            body["id_token"] = self.emulator.rsa.sign(claims)
        body["client_info"] = b64url(f'{{"uid":"{user.id}","utid":"{tid}"}}'.encode())
        return body

    def _membership_claims(self, user, client_id: str) -> dict:
        """``roles``: the values of the client's app roles assigned to the user or to a group it is a
        direct member of. ``groups``: the ids of its security groups, nested ones included, as an app
        registration with ``groupMembershipClaims: SecurityGroup`` gets them; above 200 groups the id
        token carries the overage claim instead, and the client asks Graph."""
        d = self.d
        claims: dict = {}
        sp = d.sps.get(d.sp_by_app.get(client_id, ""))
        if sp is not None:
            values = {role["id"]: role.get("value") for role in sp.p.get("appRoles") or () if role.get("isEnabled")}
            principals = {user.id, *d.member_of(user.id)}
            roles = sorted({values[a.appRoleId] for a in d.assignments.get(sp.id, {}).values()
                            if a.principalId in principals and values.get(a.appRoleId)})
            if roles:
                claims["roles"] = roles
        groups = [gid for gid in d.transitive_member_of(user.id)
                  if gid in d.groups and d.groups[gid].get("securityEnabled")]
        if len(groups) > GROUPS_CLAIM_LIMIT:
            claims["_claim_names"] = {"groups": "src1"}
            claims["_claim_sources"] = {"src1": {
                "endpoint": f"https://graph.windows.net/{d.tenant_id}/users/{user.id}/getMemberObjects"}}
        elif groups:
            claims["groups"] = groups
        return claims

    def _authorization_code(self, form: dict, client_id: str) -> dict:
        code = form.get("code")
        if not code:
            raise AadError(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'code'.")
        grant = self.codes.get(code)
        if grant is None:
            raise AadError(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if grant.get("used"):
            raise AadError(400, "invalid_grant", 54005,
                           "OAuth2 Authorization code was already redeemed, please retry with a new valid code or "
                           "use an existing refresh token.")
        if time.time() > grant["expires"]:
            raise AadError(400, "invalid_grant", 70008,
                           "The provided authorization code or refresh token has expired due to inactivity. Send a "
                           "new interactive authorization request for this user and resource.")
        if grant["client_id"] != client_id:
            raise AadError(400, "invalid_grant", 70002,
                           "The client does not exist or is not enabled for consumers.")
        if (form.get("redirect_uri") or "") != grant["redirect_uri"]:
            raise AadError(400, "invalid_grant", 500117,
                           "The reply uri specified in the request isn't expected.")
        challenge = grant.get("code_challenge")
        if challenge:
            verifier = form.get("code_verifier") or ""
            if grant.get("code_challenge_method", "plain").upper() == "S256":
                computed = b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
            else:
                computed = verifier
            if not verifier or not secrets.compare_digest(computed, challenge):
                raise AadError(400, "invalid_grant", 501481,
                               "The Code_Verifier does not match the code_challenge supplied in the authorization "
                               "request.")
        grant["used"] = True
        user = self.d.users.get(grant["user_id"])
        if user is None or user.accountEnabled is False:
            raise AadError(400, "invalid_grant", 50057, "The user account is disabled.")
        return self._user_tokens(user, client_id, grant["oidc"], grant["graph"], grant.get("nonce"),
                                 grant.get("auth_time"))

    def _refresh(self, form: dict, client_id: str) -> dict:
        raw = form.get("refresh_token")
        if not raw:
            raise AadError(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'refresh_token'.")
        payload = unseal(raw, self.d.signing_key + b"refresh")
        if payload is None or payload.get("t") != "rt" or payload.get("c") != client_id:
            raise AadError(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if time.time() - payload.get("at", 0) > 90 * 86400:
            raise AadError(400, "invalid_grant", 700082,
                           "The refresh token has expired due to inactivity. The token was issued on "
                           f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(payload.get('at', 0)))} and was "
                           "inactive for 90.00:00:00.")
        user = self.d.users.get(payload["u"])
        if user is None:
            raise AadError(400, "invalid_grant", 50173,
                           "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
                           "The user might have changed or reset their password.")
        if user.accountEnabled is False:
            raise AadError(400, "invalid_grant", 50057, "The user account is disabled.")
        oidc, graph = payload.get("o", []), payload.get("g", [])
        if form.get("scope"):
            requested_oidc, requested_graph = self._parse_scopes(form["scope"])
            oidc = list(dict.fromkeys(requested_oidc + ["offline_access"]))
            graph = requested_graph or graph
        return self._user_tokens(user, client_id, oidc, graph, None, None)

    # ------------------------------------------------------------------ authorize and sign-in page

    def _redirect_allowed(self, uri: str) -> bool:
        allowed = self.emulator.args.redirect_uri or []
        if allowed:
            return uri in allowed
        parts = urlsplit(uri)
        return parts.scheme in ("http", "https") and bool(parts.netloc)

    def _error_page(self, number: int, text: str, status: int = 400) -> web.Response:
        page = _PAGE.format(title="Sign in to your account", body=(
            f'<h1>Sorry, but we\u2019re having trouble signing you in.</h1>'
            f'<p id="error">AADSTS{number}: {html.escape(text)}</p>'))
        return web.Response(text=page, status=status, content_type="text/html")

    def _redirect_error(self, params: dict, error: str, number: int, text: str) -> web.Response:
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        query = {"error": error, "error_description": f"AADSTS{number}: {text}\r\nTrace ID: {uuid.uuid4()}"
                 f"\r\nCorrelation ID: {uuid.uuid4()}\r\nTimestamp: {stamp}",
                 "error_uri": f"https://login.microsoftonline.com/error?code={number}"}
        if params.get("state"):
            query["state"] = params["state"]
        return self._send_to_client(params, query)

    def _send_to_client(self, params: dict, query: dict) -> web.Response:
        redirect_uri = params["redirect_uri"]
        if params.get("response_mode") == "form_post":
            fields = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                             for k, v in query.items())
            page = _PAGE.format(title="Working...", body=(
                f'<form method="POST" name="hiddenform" action="{html.escape(redirect_uri)}">{fields}'
                f'<noscript><p>Script is disabled. Click Submit to continue.</p>'
                f'<input type="submit" value="Submit"></noscript></form>'
                f'<script>document.forms[0].submit();</script>'))
            return web.Response(text=page, content_type="text/html")
        separator = "&" if "?" in redirect_uri else "?"
        return web.Response(status=302, headers={"Location": f"{redirect_uri}{separator}{urlencode(query)}"})

    async def authorize(self, request: web.Request) -> web.StreamResponse:
        tenant = request.match_info["tenant"]
        if not self.tenant_of(tenant):
            error = self._unknown_tenant(tenant)
            return self._error_page(error.number, error.text)
        params = dict(request.query)
        client_id = params.get("client_id")
        if not client_id:
            return self._error_page(900144, "The request body must contain the following parameter: 'client_id'.")
        if client_id != self.d.client_id:
            return self._error_page(700016, _NOT_FOUND_TEXT.format(client=client_id, tenant=self.d.tenant_name))
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri or not self._redirect_allowed(redirect_uri):
            return self._error_page(50011, (
                f"The redirect URI '{redirect_uri or ''}' specified in the request does not match the redirect URIs "
                f"configured for the application '{client_id}'. Make sure the redirect URI sent in the request "
                f"matches one added to your application in the Azure portal. Navigate to "
                f"https://aka.ms/redirectUriMismatchError to learn more about how to fix this."))
        response_type = params.get("response_type", "")
        if "code" not in response_type.split():
            return self._redirect_error(params, "unsupported_response_type", 700051,
                                        f"response_type '{response_type}' is not enabled for the application.")
        if not params.get("scope"):
            return self._redirect_error(params, "invalid_request", 900144,
                                        "The request body must contain the following parameter: 'scope'.")
        try:
            self._parse_scopes(params["scope"])
        except AadError as error:
            return self._redirect_error(params, error.error, error.number, error.text)
        method = params.get("code_challenge_method")
        if params.get("code_challenge") and method not in (None, "S256", "plain"):
            return self._redirect_error(params, "invalid_request", 501478,
                                        f"Invalid Code challenge method '{method}'.")
        prompt = (params.get("prompt") or "").lower()
        session_user = self._session_user(request)
        if prompt == "none":
            if session_user is None:
                return self._redirect_error(params, "login_required", 50058,
                                            "A silent sign-in request was sent but no user is signed in.")
            return self._issue_code(params, session_user, set_cookie=None)
        context = secrets.token_urlsafe(24)
        self.pending[context] = {"params": params, "expires": time.time() + 900}
        self._sweep()
        return self._sign_in_page(context, params.get("login_hint", ""), None)

    def _session_user(self, request: web.Request):
        uid = self.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        user = self.d.users.get(uid) if uid else None
        return user if user is not None and user.accountEnabled is not False else None

    def _sign_in_page(self, context: str, login: str, error: str | None, status: int = 200) -> web.Response:
        tenant = self.d.tenant_id
        error_html = f'<div id="passwordError" role="alert">{html.escape(error)}</div>' if error else ""
        body = (
            f'<div class="brand">{html.escape(self.d.tenant_name)}</div>'
            f'<h1>Sign in</h1>{error_html}'
            f'<form method="post" action="/{tenant}/login" autocomplete="off">'
            f'<input type="hidden" name="ctx" value="{html.escape(context)}">'
            f'<label for="i0116">Email, phone, or Skype</label>'
            f'<input type="email" name="login" id="i0116" value="{html.escape(login)}" '
            f'placeholder="Email, phone, or Skype" required>'
            f'<label for="i0118">Password</label>'
            f'<input type="password" name="passwd" id="i0118" placeholder="Password" required>'
            f'<input type="submit" id="idSIButton9" value="Sign in"></form>'
        )
        return web.Response(text=_PAGE.format(title="Sign in to your account", body=body), status=status,
                            content_type="text/html")

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        context = str(form.get("ctx", ""))
        pending = self.pending.get(context)
        if pending is None or time.time() > pending["expires"]:
            return self._error_page(50058, "Your sign-in session has expired. Start the sign-in again.")
        params = pending["params"]
        login = str(form.get("login", "")).strip()
        password = str(form.get("passwd", ""))
        user = self.d.find_user(login) if "@" in login else None
        if user is None:
            return self._sign_in_page(context, login, "This username may be incorrect. Make sure you typed it "
                                                      "correctly. Otherwise, contact your admin.")
        if not self.d.check_password(user, password, self.emulator.user_password):
            return self._sign_in_page(context, login, "Your account or password is incorrect. If you don't "
                                                      "remember your password, reset it now.")
        if user.accountEnabled is False:
            return self._sign_in_page(context, login, "Your account has been locked. Contact your support person "
                                                      "to unlock it, then try again.")
        del self.pending[context]
        session = secrets.token_urlsafe(32)
        self.sessions[session] = user.id
        return self._issue_code(params, user, set_cookie=session)

    def _issue_code(self, params: dict, user, set_cookie: str | None) -> web.StreamResponse:
        oidc, graph = self._parse_scopes(params["scope"])
        code = "0.A" + secrets.token_urlsafe(96)
        self.codes[code] = {
            "client_id": params["client_id"], "redirect_uri": params["redirect_uri"], "oidc": oidc, "graph": graph,
            "nonce": params.get("nonce"), "code_challenge": params.get("code_challenge"),
            "code_challenge_method": params.get("code_challenge_method", "plain"), "user_id": user.id,
            "auth_time": int(time.time()) if params.get("max_age") else None,
            "expires": time.time() + CODE_LIFETIME,
        }
        query = {"code": code}
        if params.get("state"):
            query["state"] = params["state"]
        query["session_state"] = str(uuid.uuid4())
        response = self._send_to_client(params, query)
        if set_cookie:
            response.set_cookie(SESSION_COOKIE, set_cookie, httponly=True, samesite="Lax", path="/")
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        self.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        target = request.query.get("post_logout_redirect_uri")
        if target and self._redirect_allowed(target):
            response = web.Response(status=302, headers={"Location": target})
            response.del_cookie(SESSION_COOKIE, path="/")
            return response
        response = web.Response(text=_PAGE.format(title="Sign out", body="<h1>You signed out of your account</h1>"
                                                  "<p>It\u2019s a good idea to close all browser windows.</p>"),
                                content_type="text/html")
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    def _sweep(self) -> None:
        now = time.time()
        if len(self.pending) > 1000:
            for key in [k for k, v in self.pending.items() if v["expires"] < now]:
                del self.pending[key]
        if len(self.codes) > 1000:
            for key in [k for k, v in self.codes.items() if v["expires"] < now]:
                del self.codes[key]


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: "Segoe UI", Arial, sans-serif; background: #f2f2f2; margin: 0; }}
main {{ max-width: 440px; margin: 8vh auto; background: #fff; padding: 44px; box-shadow: 0 2px 6px rgba(0,0,0,.2); }}
h1 {{ font-size: 24px; font-weight: 600; margin: 16px 0; }}
label {{ display: block; font-size: 13px; margin-top: 12px; color: #555; }}
input[type=email], input[type=password] {{ width: 100%; padding: 6px 0; border: 0;
  border-bottom: 1px solid #666; font-size: 15px; }}
input[type=submit] {{ margin-top: 24px; background: #0067b8; color: #fff; border: 0; padding: 8px 32px;
  font-size: 15px; float: right; }}
#passwordError, #error {{ color: #e81123; margin: 8px 0; }}
.brand {{ font-weight: 600; color: #737373; }}
</style></head>
<body><main>{body}</main></body></html>
"""
