"""Route the SDKs' https requests to configured base URLs.

The ``dropbox`` SDK and ``msal`` always build ``https://`` URLs on the real hosts
(``api.dropboxapi.com``, ``www.dropbox.com``, ``login.microsoftonline.com``,
``graph.microsoft.com``). When the portal is pointed elsewhere (an emulator on
``http://127.0.0.1``, a proxy), both accept a ``requests.Session``; this module
gives them one whose adapter rewrites the URL just before it is sent. This is
the only place in the project that knows about that rewriting.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from ..metrics import calls

REAL_ENTRA_LOGIN_URL = "https://login.microsoftonline.com"
REAL_GRAPH_URL = "https://graph.microsoft.com"
REAL_DROPBOX_API_URL = "https://api.dropboxapi.com"
REAL_DROPBOX_WEB_URL = "https://www.dropbox.com"


def build_routes(
    *,
    entra_login_url: str = REAL_ENTRA_LOGIN_URL,
    graph_url: str = REAL_GRAPH_URL,
    dropbox_api_url: str = REAL_DROPBOX_API_URL,
    dropbox_web_url: str = REAL_DROPBOX_WEB_URL,
) -> dict[str, str]:
    """Map each real base URL to its configured one, leaving out those unchanged."""
    pairs = {
        REAL_ENTRA_LOGIN_URL: entra_login_url,
        REAL_GRAPH_URL: graph_url,
        REAL_DROPBOX_API_URL: dropbox_api_url,
        REAL_DROPBOX_WEB_URL: dropbox_web_url,
    }
    return {real: configured.rstrip("/") for real, configured in pairs.items() if configured.rstrip("/") != real}


def rewrite_url(url: str, routes: Mapping[str, str]) -> str:
    """The URL a request for ``url`` is really sent to."""
    for real, configured in routes.items():
        if url == real or url.startswith(real + "/") or url.startswith(real + "?"):
            return configured + url[len(real):]
    return url


class RoutingAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` that sends each request to its rewritten URL."""

    def __init__(self, routes: Mapping[str, str], **kwargs):
        self.routes = dict(routes)
        super().__init__(**kwargs)

    def send(self, request, *args, **kwargs):
        real_url, request.url = request.url, rewrite_url(request.url, self.routes)
        # Every request of the SDKs passes here: counted for /metrics, by the real service's URL.
        return calls.observe(real_url, super().send, request, *args, **kwargs)


class _Session(requests.Session):
    """A session that reads the environment (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``) once per
    origin rather than on every request, as a cycle sends thousands to the same two hosts; and never
    ``~/.netrc``, whose basic credentials would replace the SDKs' own Authorization header."""

    def __init__(self):
        super().__init__()
        self.trust_env = False  # the environment is applied below, read once per origin
        self._environment: dict[str, tuple[dict, str | None]] = {}
        self._lock = threading.Lock()

    def _of(self, url: str) -> tuple[dict, str | None]:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._environment.get(origin)
        if found is None:
            proxies = requests.utils.get_environ_proxies(url, no_proxy=None)
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None
            with self._lock:
                found = self._environment.setdefault(origin, (proxies, bundle))
        return found

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        environment_proxies, bundle = self._of(url)
        proxies = {**environment_proxies, **(proxies or {})}
        if bundle and (verify is True or verify is None):
            verify = bundle
        return super().merge_environment_settings(url, proxies, stream, verify, cert)


def routed_session(routes: Mapping[str, str], *, pool_size: int = 32) -> requests.Session:
    """A ``requests.Session`` for the SDKs that honours ``routes``.

    ``pool_size`` bounds the connections kept per host; the engine runs that many
    requests at once at most, so a larger pool would only hold idle sockets.
    """
    session = _Session()
    adapter = RoutingAdapter(routes, pool_connections=8, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
