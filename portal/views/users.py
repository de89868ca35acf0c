"""Portal users: there is no open sign-up, so administrators invite people and
give them a role. An invited person sets a password from the link in the email."""

from __future__ import annotations

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from provisioning import audit
from provisioning.constants import ADMINISTRATORS_GROUP, READERS_GROUP, AuditActivity

from ..accounts.sessions import active_sessions, end_session
from ..forms import InviteForm, RoleForm
from ..permissions import administrator_required, forget_roles, role_name

ROLE_GROUPS = {"administrator": ADMINISTRATORS_GROUP, "reader": READERS_GROUP}


def _describe(user) -> dict:
    return {"email": user.email, "role": role_name(user), "active": user.is_active}


def _role_key(user) -> str:
    if not user.is_active:
        return "none"
    names = {group.name for group in user.groups.all()}
    if ADMINISTRATORS_GROUP in names or user.is_superuser:
        return "administrator"
    return "reader" if READERS_GROUP in names else "applications"


def _users_page(request: HttpRequest, invite_form: InviteForm, status: int = 200) -> HttpResponse:
    users = get_user_model().objects.order_by("email").prefetch_related("groups")
    rows = [{"user": u, "role": role_name(u), "form": RoleForm(initial={"role": _role_key(u)}),
             "sessions": active_sessions(u).count()} for u in users]
    context = {"rows": rows, "invite_form": invite_form, "section": "portal_users"}
    return render(request, "portal/users/list.html", context, status=status)


@require_safe
@administrator_required
def portal_users(request: HttpRequest) -> HttpResponse:
    return _users_page(request, InviteForm())


@require_POST
@administrator_required
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _users_page(request, form, status=400)
    email, role = form.cleaned_data["email"], form.cleaned_data["role"]
    with transaction.atomic():
        user = get_user_model().objects.create(username=email, email=email)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=ROLE_GROUPS[role])[0])
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        audit.record(
            AuditActivity.INVITE_USER, request=request, target_type="User", target_id=str(user.pk),
            target_display=email, after=_describe(user),
        )
    link = request.build_absolute_uri(
        reverse(
            "account_reset_password_from_key",
            kwargs={"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)},
        )
    )
    context = {"inviter": request.user.email or request.user.username, "link": link, "role": role_name(user)}
    send_mail(
        "You are invited to the provisioning portal",
        render_to_string("portal/users/invitation_email.txt", context),
        None,
        [email],
    )
    messages.success(request, f"Invitation sent to {email}.")
    return redirect("portal:portal_users")


@require_POST
@administrator_required
def change_role(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role.")
        return redirect("portal:portal_users")
    if user == request.user:
        messages.error(request, "You cannot change your own role; ask another administrator.")
        return redirect("portal:portal_users")
    if user.is_superuser:
        messages.error(request, "Superusers keep full access; change them with the Django admin.")
        return redirect("portal:portal_users")
    before = _describe(user)
    role = form.cleaned_data["role"]
    with transaction.atomic():
        user.groups.remove(*Group.objects.filter(name__in=ROLE_GROUPS.values()))
        user.is_active = role != "none"
        user.save(update_fields=["is_active"])
        if role in ROLE_GROUPS:
            user.groups.add(Group.objects.get_or_create(name=ROLE_GROUPS[role])[0])
        forget_roles(user)  # the role helpers cache group names
        audit.record(
            AuditActivity.UPDATE_USER, request=request, target_type="User", target_id=str(user.pk),
            target_display=user.email, before=before, after=_describe(user),
        )
    messages.success(request, f"{user.email} is now: {role_name(user)}.")
    return redirect("portal:portal_users")


@require_POST
@administrator_required
def end_sessions(request: HttpRequest, user_id: int) -> HttpResponse:
    """Sign a user out everywhere: each of their sessions is deleted from the session store, audited."""
    user = get_object_or_404(get_user_model(), pk=user_id)
    with transaction.atomic():
        rows = active_sessions(user)
        if user == request.user:
            rows = rows.exclude(session_id=request.session.session_key)  # Sign out ends this one
        ended = 0
        for row in rows:
            end_session(row, request=request, reason=f"Ended by {request.user.email or request.user.username}")
            ended += 1
    messages.success(request, f"Ended {ended} session{'s' if ended != 1 else ''} of {user.email}.")
    return redirect("portal:portal_users")
