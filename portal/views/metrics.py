"""``/metrics``: the portal's Prometheus metrics (see :mod:`provisioning.metrics`), for a scraper.

Off (404) unless ``METRICS_TOKEN`` or ``METRICS_ALLOWED_ADDRESSES`` is set. A client outside the
allowed addresses gets 403 (before any word about tokens); one without the right bearer token gets
401 with ``WWW-Authenticate: Bearer``. The address is the client's as :func:`provisioning.audit.client_ip`
reads it (behind ``TRUSTED_PROXY_COUNT`` proxies, from X-Forwarded-For)."""

from __future__ import annotations

import hmac
import ipaddress
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from provisioning.audit import client_ip
from provisioning.metrics.collector import render

log = logging.getLogger(__name__)


@never_cache
@require_safe
@login_not_required
def metrics(request: HttpRequest) -> HttpResponse:
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_ADDRESSES
    if not token and not networks:
        raise Http404("Metrics are off.")
    if networks and not _address_allowed(client_ip(request), networks):
        return HttpResponse("This address may not read the metrics.\n", status=403, content_type="text/plain")
    if token and not _bearer_matches(request.headers.get("Authorization", ""), token):
        response = HttpResponse("A bearer token is needed to read the metrics.\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    try:
        body = render()
    except DatabaseError as exc:  # the scrape fails (Prometheus' up == 0) without a server error's traceback
        log.warning("Metrics could not be read: the database does not answer (%s)", exc.__class__.__name__)
        return HttpResponse("The database does not answer.\n", status=503, content_type="text/plain")
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)


def _address_allowed(address: str | None, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:  # no address, or not one (a proxy's garbage): not allowed
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for network in networks:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except (ValueError, TypeError):  # checked by the settings; a bad entry allows no one
            continue
    return False


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, offered = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not offered.strip():
        return False
    return hmac.compare_digest(offered.strip().encode(), token.encode())
