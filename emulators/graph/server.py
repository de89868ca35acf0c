"""The Graph / Entra ID emulator process: command line, routes and the hooks
the emulator base asks for (throttling and failure bodies, what is a write,
which tenant a request counts against)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import secrets
import string
import time
import uuid

from aiohttp import web

from emulators.base import CONTROL_PREFIX, Emulator, TokenBucket, common_arguments
from emulators.demo import DEMO_CLIENT_ID, DEMO_TENANT_ID

from . import seed as seeds
from .catalog import DEFAULT_PERMISSIONS, MICROSOFT_GRAPH_APP_ID
from .delta import DeltaEngine
from .errors import GraphError, graph_error_body
from .graph_api import JSON_TYPE, GraphApi, GraphRequest, GraphResponse, load_json, parse_relative_url
from .identity import Identity
from .tokens import InvalidToken, MSG_AUDIENCE, MSG_EMPTY, MSG_EXPIRED, MSG_INVALID, RsaSigner, decode_hs256, sign_hs256

GRAPH_AUDIENCES = {"https://graph.microsoft.com", "https://graph.microsoft.com/", MICROSOFT_GRAPH_APP_ID}
WWW_AUTHENTICATE = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                    f'client_id="{MICROSOFT_GRAPH_APP_ID}"')
_ID_SEGMENT = re.compile(r"/(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[^/]*@[^/]*"
                         r"|[A-Za-z0-9_-]{40,})(?=/|$)")
_LOGIN_PATH = re.compile(r"^/[^/]+/(?:v2\.0/\.well-known/openid-configuration|\.well-known/openid-configuration"
                         r"|oauth2/v2\.0/(?:token|authorize|logout)|discovery/v2\.0/keys|discovery/instance|login)$")


EPILOG = """\
run-time settings (POST /_emulator/config with a JSON object):
  latency_ms, rate_limit, fail_rate   as the flags of the same names
  token_lifetime                      seconds of life of newly issued access tokens
  delta_page_size                     objects per delta page
  delta_members_chunk                 members@delta entries per delta page
  delta_token_lifetime                seconds a delta or skip token stays valid (default 7 days)
  permissions                         list of granted application permissions (for new tokens)
  token_fail_rate                     fraction of token-endpoint requests answered 503 (default 0;
                                      --fail-rate applies to Graph routes only)
  empty_group_members                 true: /groups/{id}/members answers every group as empty (a fault
                                      to inject; the real service has no such switch)

The sign-in side (discovery, token, authorize) is never throttled by --rate-limit; Graph requests
are limited per tenant and application, and requests inside $batch one by one.

Clients must reach the emulator through a session that rewrites https://login.microsoftonline.com
and https://graph.microsoft.com to its address (see provisioning/connectors/routing.py).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.graph",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
        description=(
            "Emulator of Microsoft Entra ID: the identity platform's sign-in and token\n"
            "endpoints (login.microsoftonline.com) and the directory part of Microsoft\n"
            "Graph v1.0 (graph.microsoft.com): users, groups, members, service principals,\n"
            "app role assignments, delta queries and $batch. Control routes live under\n"
            "/_emulator/ (health, state, stats, stats/reset, reset, config)."
        ),
    )
    common_arguments(parser, default_port=8101)
    parser.add_argument("--seed", default="demo", metavar="NAME",
                        help="the tenant to start with when no state file exists: empty (only the tenant, the "
                             "portal's app registration and the application catalog), demo (Contoso, about 200 "
                             "people, 15 groups, Dropbox for Business already added and assigned) or synthetic:N "
                             "(N users in groups of 100, every group assigned) (default: %(default)s)")
    parser.add_argument("--tenant-id", default=DEMO_TENANT_ID, metavar="GUID",
                        help="the directory (tenant) id (default: %(default)s)")
    parser.add_argument("--client-id", default=DEMO_CLIENT_ID, metavar="GUID",
                        help="the application (client) id of the portal's app registration (default: %(default)s)")
    parser.add_argument("--client-secret", default=os.environ.get("ENTRA_CLIENT_SECRET") or None, metavar="SECRET",
                        help="the app registration's client secret (default: $ENTRA_CLIENT_SECRET; when neither is "
                             "given a random one is generated and printed at start)")
    parser.add_argument("--user-password", default=os.environ.get("GRAPH_EMULATOR_USER_PASSWORD") or None,
                        metavar="PASSWORD",
                        help="password of the seeded users on the sign-in page; users created through POST /users "
                             "use their passwordProfile.password (default: $GRAPH_EMULATOR_USER_PASSWORD; when "
                             "neither is given a random one is generated and printed at start)")
    parser.add_argument("--authority-host", default="https://login.microsoftonline.com", metavar="URL",
                        help="the https host OpenID discovery names in its endpoints; clients reach the emulator "
                             "through a session that rewrites it (default: %(default)s)")
    parser.add_argument("--public-url", default=None, metavar="URL",
                        help="base of the absolute links in answers (@odata.nextLink, @odata.deltaLink, "
                             "@odata.context); by default the scheme and Host the request arrived at")
    parser.add_argument("--permissions", default=",".join(DEFAULT_PERMISSIONS), metavar="LIST",
                        help="comma-separated Microsoft Graph application permissions granted to the app "
                             "registration; calls needing another answer 403 Authorization_RequestDenied "
                             "(default: %(default)s)")
    parser.add_argument("--token-lifetime", type=int, default=3599, metavar="SECONDS",
                        help="lifetime of issued access tokens, reported as expires_in; tunable at run time as "
                             "token_lifetime (default: %(default)s)")
    parser.add_argument("--redirect-uri", action="append", default=None, metavar="URL",
                        help="a redirect URI registered on the app registration (repeat for several); the "
                             "authorization endpoint refuses others with AADSTS50011. Without it any http(s) "
                             "redirect URI is accepted")
    parser.add_argument("--delta-page-size", type=int, default=100, metavar="N",
                        help="objects per page of a delta round; tunable at run time as delta_page_size "
                             "(default: %(default)s)")
    parser.add_argument("--delta-members-chunk", type=int, default=1000, metavar="N",
                        help="most members@delta entries in one delta page; a group with more is split and "
                             "repeats across pages; tunable at run time as delta_members_chunk (default: %(default)s)")
    return parser


def _generated_secret(length: int = 40) -> str:
    alphabet = string.ascii_letters + string.digits + "~_.-"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _generated_password() -> str:
    # Meets Entra's complexity rule: all four character classes.
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(6)) + \
        secrets.choice(string.ascii_uppercase) + secrets.choice(string.digits) + \
        secrets.choice("!#%+-=") + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(7))


class GraphEmulator(Emulator):
    """Microsoft Entra ID: the identity platform and Microsoft Graph's directory routes."""

    name = "graph"
    tunables = Emulator.tunables + ("token_lifetime", "delta_members_chunk", "delta_page_size",
                                    "delta_token_lifetime", "permissions", "token_fail_rate", "empty_group_members")

    def __init__(self, args: argparse.Namespace):
        super().__init__(args)
        self.generated: dict[str, str] = {}
        if not args.client_secret:
            args.client_secret = self.generated["client secret"] = _generated_secret()
        if not args.user_password:
            args.user_password = self.generated["user password"] = _generated_password()
        self.client_secret: str = args.client_secret
        self.user_password: str = args.user_password
        self.token_lifetime = int(args.token_lifetime)
        self.delta_page_size = int(args.delta_page_size)
        self.delta_members_chunk = int(args.delta_members_chunk)
        self.delta_token_lifetime = 7 * 86400
        self.permissions = [p.strip() for p in args.permissions.split(",") if p.strip()]
        self.token_fail_rate = 0.0
        self.empty_group_members = False
        self.signing_key = secrets.token_bytes(32)
        self.key_id = uuid.uuid4().hex[:16]
        self.seed_name = args.seed
        self.rsa = RsaSigner()
        self.delta = DeltaEngine(self)
        self.api = GraphApi(self)
        self.identity = Identity(self)
        self._verified: dict[str, dict] = {}

    # ------------------------------------------------------------------ state

    def seed(self, name: str) -> None:
        state = seeds.build(name, tenant_id=self.args.tenant_id, client_id=self.args.client_id,
                            random_seed=int(self.args.random_seed))
        state.signing_key = self.signing_key
        self.state = state
        self.seed_name = name
        self.buckets = TokenBucket(self.rate_limit)
        self.delta = DeltaEngine(self)
        self.api = GraphApi(self)
        _settle()

    def load_or_seed(self, seed_name: str) -> None:
        super().load_or_seed(seed_name)
        if self.state.signing_key:
            self.signing_key = self.state.signing_key
        else:
            self.state.signing_key = self.signing_key
        self._verified.clear()
        _settle()

    def summary(self) -> dict:
        summary = self.state.summary() if self.state is not None else {}
        summary["seed"] = self.seed_name
        return summary

    def configure(self, values: dict) -> None:
        converted = {}
        for key, value in values.items():
            if key == "permissions":
                converted[key] = [p.strip() for p in (value.split(",") if isinstance(value, str) else value)
                                  if str(p).strip()]
            elif key in ("token_lifetime", "delta_members_chunk", "delta_page_size"):
                converted[key] = max(1, int(value))
            elif key in ("delta_token_lifetime", "latency_ms", "rate_limit", "fail_rate", "token_fail_rate"):
                converted[key] = float(value)
            elif key == "empty_group_members":
                converted[key] = str(value).lower() in ("1", "true", "yes")
            else:
                converted[key] = value
        super().configure(converted)
        if "rate_limit" in converted:
            # A new limit starts with full buckets rather than the debt of the old one.
            self.buckets = TokenBucket(self.rate_limit)

    # ------------------------------------------------------------------ tokens

    def sign_access_token(self, claims: dict) -> str:
        return sign_hs256(claims, self.signing_key, self.key_id)

    def verify(self, header: str | None) -> dict:
        """The claims of a Graph bearer token, or :class:`GraphError` 401 as Graph words it."""
        if not header:
            raise _unauthorized(MSG_EMPTY)
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized(MSG_EMPTY)
        claims = self._verified.get(token)
        if claims is None:
            try:
                claims = decode_hs256(token, self.signing_key)
            except InvalidToken as error:
                raise _unauthorized(error.message) from None
            if claims.get("aud") not in GRAPH_AUDIENCES:
                raise _unauthorized(MSG_AUDIENCE)
            if claims.get("tid") != self.state.tenant_id or not isinstance(claims.get("exp"), int):
                raise _unauthorized(MSG_INVALID)
            if len(self._verified) > 20000:
                self._verified.clear()
            self._verified[token] = claims
        if claims["exp"] <= time.time():
            raise _unauthorized(MSG_EXPIRED)
        return claims

    @staticmethod
    def granted(claims: dict) -> set:
        return set(claims.get("roles") or ()) | set((claims.get("scp") or "").split())

    # ------------------------------------------------------------------ base hooks

    @staticmethod
    def _is_login(path: str) -> bool:
        return bool(_LOGIN_PATH.match(path))

    def rate_limit_key(self, request: web.Request) -> str | None:
        if request.path == "/v1.0/$batch":
            return None  # each request inside a batch is counted on its own
        return self._throttle_key(request.headers.get("Authorization"))

    def _throttle_key(self, header: str | None) -> str:
        token = (header or "").partition(" ")[2].strip()
        claims = self._verified.get(token)
        if claims is None:
            try:
                claims = self.verify(header)
            except GraphError:
                return "anonymous"
        return f"{claims.get('tid')}:{claims.get('appid')}"

    def rate_limited(self, request: web.Request, retry_after: int) -> web.StreamResponse:
        return self._http(self._throttled(request.headers.get("Authorization"), retry_after),
                          request.headers.get("client-request-id"))

    def _throttled(self, header: str | None, retry_after: int) -> GraphResponse:
        key = self._throttle_key(header)
        tenant, _, app = key.partition(":")
        message = (f"Too many requests from Identifier:{app or 'anonymous'}+{tenant or 'anonymous'} under "
                   f"category:throttle.aad.ags.graph. Please try again later.")
        return GraphResponse(429, {"error": {"code": "TooManyRequests", "message": message}},
                             {"Retry-After": str(retry_after)})

    def injected_failure(self, request: web.Request, status: int) -> web.StreamResponse:
        if status == 503:
            response = GraphResponse(503, {"error": {"code": "serviceNotAvailable",
                                                     "message": "The service is temporarily unavailable. "
                                                                "Please try again later."}},
                                     {"Retry-After": "2"})
        else:
            response = GraphResponse(500, {"error": {"code": "generalException",
                                                     "message": "An unexpected error occurred while processing "
                                                                "the request."}})
        return self._http(response, request.headers.get("client-request-id"))

    def is_write(self, request: web.Request) -> bool:
        return request.method in ("POST", "PATCH", "PUT", "DELETE") and request.path.startswith("/v1.0/")

    def stats_key(self, request: web.Request) -> str:
        if self._is_login(request.path):
            tenant, _, rest = request.path[1:].partition("/")
            return f"{request.method} /{{tenant}}/{rest}"
        return f"{request.method} {_ID_SEGMENT.sub('/{id}', request.path)}"

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        if not self._is_login(request.path) or request.path.startswith(CONTROL_PREFIX):
            return await super()._middleware(request, handler)
        # The sign-in side is never throttled by --rate-limit (msal caches throttled token answers,
        # which would lock a client out far longer than the limit); failures are opt-in.
        self.stats[self.stats_key(request)] += 1
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000.0)
        if self.token_fail_rate and self.random.random() < self.token_fail_rate:
            self.stats["injected_failures"] += 1
            return web.json_response({"error": "temporarily_unavailable",
                                      "error_description": "AADSTS90033: A transient error has occurred. "
                                                           "Please try again."},
                                     status=503, headers={"Retry-After": "1"})
        return await handler(request)

    # ------------------------------------------------------------------ routes

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/v1.0/{tail:.*}", self._graph)
        identity = self.identity
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", identity.openid_configuration)
        app.router.add_get("/{tenant}/discovery/v2.0/keys", identity.keys)
        app.router.add_get("/{tenant}/discovery/instance", identity.instance_discovery)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", identity.token)
        app.router.add_get("/{tenant}/oauth2/v2.0/authorize", identity.authorize)
        app.router.add_post("/{tenant}/login", identity.login)
        app.router.add_get("/{tenant}/oauth2/v2.0/logout", identity.logout)

    def _base(self, request: web.Request) -> str:
        if self.args.public_url:
            return self.args.public_url.rstrip("/")
        return f"{request.scheme}://{request.host}"

    async def _graph(self, request: web.Request) -> web.StreamResponse:
        client_request_id = request.headers.get("client-request-id")
        try:
            claims = self.verify(request.headers.get("Authorization"))
            raw = await request.read()
            body = load_json(raw) if raw else None
            headers = {k.lower(): v for k, v in request.headers.items()}
            path = request.path[len("/v1.0"):]
            if path == "/$batch":
                if request.method != "POST":
                    raise GraphError(405, "Request_BadRequest",
                                     "Specified HTTP method is not allowed for the request target.")
                response = self._batch(body, claims, headers, self._base(request))
            else:
                items = list(request.query.items())
                query = {}
                for key, value in items:
                    query.setdefault(key, value)
                req = GraphRequest(request.method, path, query, headers, body, self._base(request), claims, items)
                response = self.api.dispatch(req)
        except GraphError as error:
            response = _error_response(error)
        return self._http(response, client_request_id)

    def _http(self, response: GraphResponse, client_request_id: str | None) -> web.Response:
        request_id = str(uuid.uuid4())
        headers = {
            "request-id": request_id,
            "client-request-id": client_request_id or request_id,
            "x-ms-ags-diagnostic": '{"ServerInfo":{"DataCenter":"Emulated","Slice":"E","Ring":"1",'
                                   '"ScaleUnit":"000","RoleInstance":"EMULATOR"}}',
            "Cache-Control": "no-cache",
            "Strict-Transport-Security": "max-age=31536000",
        }
        headers.update(response.headers)
        if response.status == 204:
            return web.Response(status=204, headers=headers)
        if response.text is not None:
            headers["Content-Type"] = "text/plain;charset=utf-8"
            return web.Response(status=response.status, body=response.text.encode(), headers=headers)
        body = response.body
        if isinstance(body, dict) and "error" in body and isinstance(body["error"], dict) \
                and "innerError" not in body["error"]:
            error = body["error"]
            body = graph_error_body(error["code"], error["message"], request_id, client_request_id or request_id,
                                    error.get("details"))
        headers["Content-Type"] = JSON_TYPE
        if response.status < 300:
            headers["OData-Version"] = "4.0"
        return web.Response(status=response.status,
                            body=json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
                            headers=headers)

    # ------------------------------------------------------------------ $batch

    def _batch(self, payload, claims: dict, outer_headers: dict, base: str) -> GraphResponse:
        requests = payload.get("requests") if isinstance(payload, dict) else None
        if not isinstance(requests, list) or not requests:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        if len(requests) > 20:
            raise GraphError(400, "BadRequest", "Limit of 20 requests per batch exceeded. Received "
                                                f"{len(requests)} requests.")
        by_id: dict[str, dict] = {}
        for item in requests:
            if not isinstance(item, dict):
                raise GraphError(400, "BadRequest", "Invalid batch payload format.")
            for field in ("id", "method", "url"):
                if not item.get(field) or not isinstance(item.get(field), str):
                    raise GraphError(400, "BadRequest", f"Invalid batch payload format. Property '{field}' is "
                                                        "required on every request.")
            if item["id"] in by_id:
                raise GraphError(400, "BadRequest", f"Batch request contains duplicate request id '{item['id']}'.")
            if re.match(r"^[a-z]+://", item["url"], re.I):
                raise GraphError(400, "BadRequest", f"Invalid request URL '{item['url']}'. URLs in a batch must be "
                                                    "relative to the version, for example /users.")
            by_id[item["id"]] = item
        for item in requests:
            depends = item.get("dependsOn") or []
            if not isinstance(depends, list) or any(dep not in by_id or dep == item["id"] for dep in depends):
                raise GraphError(400, "BadRequest", f"Request '{item['id']}' depends on a request that is not in the "
                                                    "batch.")
        results: dict[str, dict] = {}
        remaining = list(requests)
        while remaining:
            ready = [item for item in remaining if all(dep in results for dep in item.get("dependsOn") or [])]
            if not ready:
                raise GraphError(400, "BadRequest", "The dependsOn chain of the batch has a cycle.")
            for item in ready:
                remaining.remove(item)
                results[item["id"]] = self._batch_one(item, results, claims, outer_headers, base)
        responses = [results[item["id"]] for item in requests]
        self.random.shuffle(responses)
        return GraphResponse(200, {"responses": responses})

    def _batch_one(self, item: dict, results: dict, claims: dict, outer_headers: dict, base: str) -> dict:
        rid = item["id"]
        method = item["method"].upper()
        path, pairs = parse_relative_url(item["url"])
        self.stats[f"{method} {_ID_SEGMENT.sub('/{id}', '/v1.0' + path)}"] += 1
        if any(results[dep]["status"] >= 400 for dep in item.get("dependsOn") or []):
            return {"id": rid, "status": 424, "headers": {"Content-Type": JSON_TYPE},
                    "body": graph_error_body("FailedDependency", "Request failed because a request it depends on "
                                             "failed.", str(uuid.uuid4()), str(uuid.uuid4()))}
        headers = {k.lower(): str(v) for k, v in (item.get("headers") or {}).items()}
        client_request_id = headers.get("client-request-id") or outer_headers.get("client-request-id")
        request_id = str(uuid.uuid4())
        if self.rate_limit:
            wait = self.buckets.take(self._throttle_key(outer_headers.get("authorization")))
            if wait:
                self.stats["rate_limited"] += 1
                throttled = self._throttled(outer_headers.get("authorization"), max(1, int(wait + 0.999)))
                error = throttled.body["error"]
                return {"id": rid, "status": 429,
                        "headers": {"Retry-After": throttled.headers["Retry-After"], "Content-Type": JSON_TYPE},
                        "body": graph_error_body(error["code"], error["message"], request_id,
                                                 client_request_id or request_id)}
        body = item.get("body")
        try:
            if method in ("POST", "PATCH", "PUT") and body is not None and "content-type" not in headers:
                raise GraphError(400, "BadRequest", f"Write request id : {rid} does not contain Content-Type "
                                                    "header or body.")
            if path == "/$batch":
                raise GraphError(400, "BadRequest", "A batch request cannot contain another batch request.")
            query = {}
            for key, value in pairs:
                query.setdefault(key, value)
            merged = dict(outer_headers)
            merged.update(headers)
            req = GraphRequest(method, path, query, merged, body, base, claims, pairs)
            response = self.api.dispatch(req)
        except GraphError as error:
            response = _error_response(error)
        out_headers = {"Cache-Control": "no-cache", "OData-Version": "4.0"}
        out_headers.update(response.headers)
        result: dict = {"id": rid, "status": response.status, "headers": out_headers}
        if response.status == 204:
            return result
        if response.text is not None:
            out_headers["Content-Type"] = "text/plain;charset=utf-8"
            result["body"] = response.text
            return result
        out_headers["Content-Type"] = JSON_TYPE
        data = response.body
        if isinstance(data, dict) and isinstance(data.get("error"), dict) and "innerError" not in data["error"]:
            error = data["error"]
            data = graph_error_body(error["code"], error["message"], request_id, client_request_id or request_id,
                                    error.get("details"))
        result["body"] = data
        return result

    # ------------------------------------------------------------------ start

    def run(self) -> None:
        self.load_or_seed(self.args.seed)
        for label, value in self.generated.items():
            print(f"graph emulator {label}: {value}", flush=True)
        super().run()


def _settle() -> None:
    """Move the freshly built tenant out of the garbage collector's way: with hundreds of
    thousands of long-lived objects, full collections would otherwise stall requests."""
    gc.unfreeze()  # a previous tenant's leftovers become collectable again
    gc.collect()
    gc.freeze()


def _unauthorized(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, headers={"WWW-Authenticate": WWW_AUTHENTICATE})


def _error_response(error: GraphError) -> GraphResponse:
    body = {"error": {"code": error.code, "message": error.message}}
    if error.details:
        body["error"]["details"] = error.details
    return GraphResponse(error.status, body, dict(error.headers))


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        seeds_ok = args.seed in ("empty", "demo") or args.seed.startswith("synthetic:")
        if not seeds_ok:
            raise ValueError(f"unknown seed {args.seed!r}: expected {seeds.SEEDS_HELP}")
        GraphEmulator(args).run()
    except ValueError as error:
        raise SystemExit(f"graph emulator: {error}") from None
