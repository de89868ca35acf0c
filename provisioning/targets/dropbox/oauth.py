"""Authorize against Dropbox: the SDK's OAuth 2 code flow with PKCE and
``token_access_type=offline`` (a refresh token), its requests routed to the
configured hosts. The PKCE verifier is made with the flow and the callback
builds a new flow, so it is kept in the administrator's session meanwhile."""

from __future__ import annotations

from collections.abc import Mapping

import dropbox
from dropbox.oauth import BadRequestException, BadStateException, CsrfException, NotApprovedException, ProviderException

from ...connectors.routing import REAL_DROPBOX_API_URL, REAL_DROPBOX_WEB_URL, build_routes, rewrite_url, routed_session
from ..base import AuthorizationCancelled, AuthorizationForged, AuthorizationRefused, AuthorizationStart, Grant
from .errors import app_not_configured, dropbox_error

CSRF_SESSION_KEY = "dropbox-auth-csrf-token"


def authorize_flow(*, redirect_uri: str, session_store: dict, app_key: str, api_url: str = REAL_DROPBOX_API_URL,
                   web_url: str = REAL_DROPBOX_WEB_URL, csrf_key: str = CSRF_SESSION_KEY) -> dropbox.DropboxOAuth2Flow:
    """The SDK's OAuth2 code flow with PKCE and ``token_access_type=offline``, its requests routed."""
    flow = dropbox.DropboxOAuth2Flow(
        consumer_key=app_key, redirect_uri=redirect_uri, session=session_store, csrf_token_session_key=csrf_key,
        use_pkce=True, token_access_type="offline",
    )
    flow.requests_session = routed_session(build_routes(dropbox_api_url=api_url, dropbox_web_url=web_url))
    return flow


class DropboxAuthorization:
    """:class:`~provisioning.targets.base.AuthorizationFlow` for Dropbox, with the portal's API app."""

    def _settings(self):
        from django.conf import settings

        return settings

    def _flow(self, session: dict, redirect_uri: str) -> dropbox.DropboxOAuth2Flow:
        settings = self._settings()
        if not settings.DROPBOX_APP_KEY:
            missing = app_not_configured()
            raise AuthorizationRefused(f"{missing.message} {missing.recommendation}")
        return authorize_flow(redirect_uri=redirect_uri, session_store=session, app_key=settings.DROPBOX_APP_KEY,
                              api_url=settings.DROPBOX_API_URL, web_url=settings.DROPBOX_WEB_URL)

    def start(self, *, session: dict, redirect_uri: str, state: str) -> AuthorizationStart:
        flow = self._flow(session, redirect_uri)
        # state = <csrf token in this session>|<our state>
        url = flow.start(url_state=state)
        settings = self._settings()
        routes = build_routes(dropbox_api_url=settings.DROPBOX_API_URL, dropbox_web_url=settings.DROPBOX_WEB_URL)
        return AuthorizationStart(url=rewrite_url(url, routes), pending={"code_verifier": flow.code_verifier})

    def finish(self, *, session: dict, redirect_uri: str, query: Mapping[str, str], pending: dict) -> Grant:
        flow = self._flow(session, redirect_uri)
        flow.code_verifier = pending.get("code_verifier")
        try:
            result = flow.finish(query)
        except NotApprovedException as exc:
            raise AuthorizationCancelled() from exc
        except (BadStateException, CsrfException, BadRequestException) as exc:
            raise AuthorizationForged() from exc
        except ProviderException as exc:
            raise AuthorizationRefused(f"Dropbox refused the authorization: {exc}.") from exc
        except Exception as raw:  # the code exchange: HTTP errors, unreachable service
            raise dropbox_error(raw, action="exchange the authorization code") from raw
        if not result.refresh_token:
            raise AuthorizationRefused("Dropbox answered without a long-lived authorization.")
        return Grant(secret=result.refresh_token, state=result.url_state or "",
                     team_id=getattr(result, "team_id", "") or "")

    def forget(self, session: dict) -> None:
        """Drop what a started flow left in the session (a replayed answer must not reuse it)."""
        session.pop(CSRF_SESSION_KEY, None)
