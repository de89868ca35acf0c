"""The portal's pages of the API: personal API tokens (in the user's menu), and an application's
configuration as a file (export, import with its differences, versions and rollback)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from provisioning import audit
from provisioning.constants import AuditActivity

from ..permissions import READER_REFUSED, application_roles, has_any_role, is_administrator
from .forms import TokenForm
from .models import ApiToken


def _may_write(user) -> bool:
    """Whether a token of ``user`` may be read-write: an administrator, of the portal or of an application."""
    return is_administrator(user) or "administrator" in application_roles(user).values()


def _token_page(request: HttpRequest, form: TokenForm, *, created: str = "", status: int = 200) -> HttpResponse:
    tokens = ApiToken.objects.filter(user=request.user)
    response = render(request, "portal/api/tokens.html", {
        "form": form, "tokens": tokens, "created": created, "section": "api_tokens",
        "api_base": request.build_absolute_uri("/api/v1.0"),
    }, status=status)
    return response


@never_cache  # the page that shows a new token once must not be kept by a browser or a proxy
@require_http_methods(["GET", "HEAD", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """The signed-in person's API tokens; creating one shows it once."""
    if not has_any_role(request.user):
        raise PermissionDenied(READER_REFUSED)
    can_write = _may_write(request.user)
    if request.method != "POST":
        return _token_page(request, TokenForm(can_write=can_write))
    form = TokenForm(request.POST, can_write=can_write)
    if not form.is_valid():
        return _token_page(request, form, status=400)
    with transaction.atomic():
        row, token = ApiToken.issue(request.user, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"],
                                    expires_at=form.expires_at())
        audit.record(AuditActivity.UPDATE_USER, request=request, target_type="API token", target_id=row.key_id,
                     target_display=row.name, after={"name": row.name, "scope": row.get_scope_display(),
                                                     "expires": row.expires_at.date().isoformat()},
                     detail=f'Created the API token "{row.name}".')
    return _token_page(request, TokenForm(can_write=can_write), created=token)


@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of one's own tokens: it stops working at once."""
    if not has_any_role(request.user):
        raise PermissionDenied(READER_REFUSED)
    with transaction.atomic():
        row = get_object_or_404(ApiToken.objects.select_for_update(), pk=token_id, user=request.user)
        if row.revoked_at is None:
            row.revoked_at = timezone.now()
            row.save(update_fields=["revoked_at"])
            audit.record(AuditActivity.UPDATE_USER, request=request, target_type="API token", target_id=row.key_id,
                         target_display=row.name, detail=f'Revoked the API token "{row.name}".')
    messages.success(request, f'The token "{row.name}" was revoked: it no longer works.')
    return redirect("portal:api_tokens")
