"""Prepare the demo that ``make run`` starts: generated credentials for the
emulators and the portal (kept in var/demo.env, never committed), and a demo
administrator when the portal has none. Prints how to sign in."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from provisioning import demo

PORTAL_ADMIN_EMAIL = "admin@contoso.com"


def _password() -> str:
    return secrets.token_urlsafe(12)


def demo_environment() -> dict[str, str]:
    """The demo's settings; secrets are generated once and kept in var/demo.env."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ENTRA_TENANT_ID": demo.DEMO_TENANT_ID,
        "ENTRA_CLIENT_ID": demo.DEMO_CLIENT_ID,
        "ENTRA_CLIENT_SECRET": secrets.token_urlsafe(30),
        "ENTRA_LOGIN_URL": "http://127.0.0.1:8101",
        "GRAPH_URL": "http://127.0.0.1:8101",
        "ENTRA_USER_PASSWORD": _password(),
        "DROPBOX_APP_KEY": demo.DEMO_DROPBOX_APP_KEY,
        "DROPBOX_ADMIN_EMAIL": demo.DEMO_DROPBOX_ADMIN_EMAIL,
        "DROPBOX_MEMBER_EMAIL": demo.DEMO_DROPBOX_MEMBER_EMAIL,
        "DROPBOX_APP_SECRET": secrets.token_urlsafe(20),
        "DROPBOX_API_URL": "http://127.0.0.1:8102",
        "DROPBOX_WEB_URL": "http://127.0.0.1:8102",
        "DROPBOX_ADMIN_PASSWORD": _password(),
        "DROPBOX_MEMBER_PASSWORD": _password(),
        "PORTAL_ADMIN_PASSWORD": _password(),
        # Sign in with Microsoft through the Graph emulator, roles from the demo tenant's app roles
        "ENTRA_SIGN_IN": "true",
    }


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


class Command(BaseCommand):
    help = "Generate the demo's credentials (var/demo.env) and a demo administrator; print the sign-in."

    def add_arguments(self, parser):
        parser.add_argument("--env-file", default=str(settings.VAR_DIR / "demo.env"))

    def handle(self, *args, env_file: str, **options):
        path = Path(env_file)
        values = demo_environment()
        if path.exists():
            # Keep what was generated before (stored tokens stay decryptable), add anything new.
            values.update(read_env(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
        path.chmod(0o600)

        User = get_user_model()
        admin_password = values["PORTAL_ADMIN_PASSWORD"]
        if not User.objects.filter(is_superuser=True).exists():
            User.objects.create_superuser(username=PORTAL_ADMIN_EMAIL, email=PORTAL_ADMIN_EMAIL, password=admin_password)
            from allauth.account.models import EmailAddress

            EmailAddress.objects.get_or_create(
                email=PORTAL_ADMIN_EMAIL, defaults={"user": User.objects.get(email=PORTAL_ADMIN_EMAIL), "primary": True, "verified": True}
            )
            created = " (created now)"
        else:
            created = ""
        admin = User.objects.filter(is_superuser=True).order_by("pk").first()
        own_password = admin.email == PORTAL_ADMIN_EMAIL and admin.check_password(admin_password)
        lines = [
            "",
            "Provisioning portal demo",
            "  Portal              http://127.0.0.1:8000",
            f"  Sign in as          {admin.email}{created}",
            f"  Password            {admin_password if own_password else '(the one you chose)'}",
            "",
            "  Dropbox emulator    http://127.0.0.1:8102/team/admin/members",
            f"    team admin (Authorize): {values['DROPBOX_ADMIN_EMAIL']} / {values['DROPBOX_ADMIN_PASSWORD']}",
            f"    non-admin member:       {values['DROPBOX_MEMBER_EMAIL']} / {values['DROPBOX_MEMBER_PASSWORD']}",
            "  Graph emulator      http://127.0.0.1:8101",
            f"    directory users' password: {values['ENTRA_USER_PASSWORD']}",
            f"    Sign in with Microsoft as {demo.DEMO_PORTAL_ADMINISTRATOR} (Provisioning administrator in Entra)",
            f"    or {demo.DEMO_PORTAL_READER} (Provisioning reader), with that password",
            "",
            "  Mail the portal sends is shown under Enterprise applications > Outbox.",
            "  Ctrl-C stops everything. Data lives in var/ (delete it to start over).",
            "",
        ]
        self.stdout.write("\n".join(lines))
