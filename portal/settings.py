"""Settings of the provisioning portal. Every knob comes from the environment;
README.md lists each variable with its default.

The defaults run a demo on one machine with no servers (SQLite and Celery's
embedded broker under ``var/``). With ``DEBUG`` off (the default) the
settings are those of a production deployment behind a TLS proxy.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()


def env_secret(name: str, default: str = "") -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker secrets)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text().strip()
    return env.str(name, default=default)


# ---------------------------------------------------------------------------- core
DEBUG = env.bool("DEBUG", default=False)
PORTAL_DEMO = env.bool("PORTAL_DEMO", default=False)

_INSECURE_KEY = "insecure-demo-key-do-not-use-in-production-0123456789abcdef"
SECRET_KEY = env_secret("SECRET_KEY", default=_INSECURE_KEY if DEBUG else "")
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("Set SECRET_KEY (or SECRET_KEY_FILE); it may only be left out with DEBUG=true.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
#: How many reverse proxies in front of the portal append to X-Forwarded-For (0: use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "portal",
    "provisioning",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "portal.entra",
    "portal.accounts",
    "django_celery_beat",
    # The REST API under /api/v1.0/ (portal/api/): DRF, its OpenAPI description and the docs' assets
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal.api",
]

MIDDLEWARE = [
    "portal.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.entra.middleware.EntraSessionRefresh",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Each session's device and "last seen"; REQUIRE_MFA (portal/accounts/middleware.py)
    "portal.accounts.middleware.SessionActivityMiddleware",
    "portal.accounts.middleware.RequireMFAMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

# ---------------------------------------------------------------------------- data
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The worker and the portal write the same file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 30, "transaction_mode": "IMMEDIATE"})
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-portal.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
# The API's rate limits per token (portal/api/throttling.py) must be counted once for all workers: in
# API_CACHE_URL, else in the Redis of the Celery broker when there is one, else in this process's memory.
_api_cache_default = env.str("CELERY_BROKER_URL", default="")
CACHES["api"] = env.cache_url("API_CACHE_URL", default=_api_cache_default if _api_cache_default.startswith(
    ("redis://", "rediss://")) else "locmemcache://api")
CACHES["api"].setdefault("KEY_PREFIX", "portal-api")

# Secrets at rest (Dropbox refresh tokens) are encrypted with Fernet. The first key
# encrypts; all of them decrypt, so keys can be rotated. Without ENCRYPTION_KEYS a
# key is derived from SECRET_KEY (fine for the demo; set it in production so that
# SECRET_KEY can change without losing stored credentials).
ENCRYPTION_KEYS = env.list("ENCRYPTION_KEYS", default=[]) or [
    base64.urlsafe_b64encode(hashlib.sha256(("encryption:" + SECRET_KEY).encode()).digest()).decode()
]

# ---------------------------------------------------------------------------- auth
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:applications"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "portal.auth.ClosedSignupAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {
    # Failed sign-ins are counted per account (key) and per client address (ip: the real client
    # behind TRUSTED_PROXY_COUNT proxies, see portal.auth). The account comes first, so that the
    # attempts refused for a locked account do not also use up the address's allowance: one
    # person hammering one account locks that account, not everyone who signs in from there.
    "login_failed": env.str("ACCOUNT_RATE_LIMIT_LOGIN_FAILED", default="5/5m/key,20/5m/ip"),
    "login": "30/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Provisioning portal")
#: Local accounts must set up TOTP or a security key before any other page (Entra sign-ins are exempt).
REQUIRE_MFA = env.bool("REQUIRE_MFA", default=False)
# Browsers offer WebAuthn on https and on http://localhost only; this lets the server accept an http
# origin too (a test set-up on another host name), never in production.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env.bool("MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", default=False)
# Passkeys: a key added as "Passwordless" signs in on its own (refused to non-superusers with LOCAL_SIGN_IN off).
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_FORMS = {"login_webauthn": "portal.accounts.forms.PasskeyLoginForm"}

# ---------------------------------------------------------------------------- i18n, static
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Production serves collected, hashed and compressed files (collectstatic in the image).
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Serve from the finders when static files were not collected (demo, tests).
WHITENOISE_USE_FINDERS = DEBUG or env.bool("WHITENOISE_USE_FINDERS", default=False)

# ---------------------------------------------------------------------------- email
# The demo writes each message as a file under var/mail, where the portal's
# "Outbox" page shows it; production uses EMAIL_URL (smtp+tls://user:pass@host:587).
_email_url = env.str("EMAIL_URL", default="")
if _email_url:
    _email = env.email_url_config(_email_url)
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
    EMAIL_PORT = _email.get("EMAIL_PORT") or 25
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
    EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
    EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Provisioning portal <provisioning@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# ---------------------------------------------------------------------------- celery
# The embedded default is a queue in one SQLite file (portal/broker.py): no server, and no task lost
# when a worker is killed. Redis (redis://...) for several machines.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="sqlite://")
if CELERY_BROKER_URL.startswith("sqlite://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "path": env.str("CELERY_SQLITE_PATH", default=str(VAR_DIR / "celery.sqlite3")),
        "visibility_timeout": 3600,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Save last_run_at after every sent task: the portal reads it to tell whether beat is alive.
CELERY_BEAT_SYNC_EVERY = 1
# Keep the logging configured below (with its filter that removes secrets) in worker processes too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
HEARTBEAT_SECONDS = env.int("HEARTBEAT_SECONDS", default=15)
DISPATCH_SECONDS = env.int("DISPATCH_SECONDS", default=10)

# ---------------------------------------------------------------------------- outside services
ENTRA_LOGIN_URL = env.str("ENTRA_LOGIN_URL", default="https://login.microsoftonline.com").rstrip("/")
GRAPH_URL = env.str("GRAPH_URL", default="https://graph.microsoft.com").rstrip("/")
DROPBOX_API_URL = env.str("DROPBOX_API_URL", default="https://api.dropboxapi.com").rstrip("/")
DROPBOX_WEB_URL = env.str("DROPBOX_WEB_URL", default="https://www.dropbox.com").rstrip("/")

ENTRA_TENANT_ID = env.str("ENTRA_TENANT_ID", default="")
ENTRA_CLIENT_ID = env.str("ENTRA_CLIENT_ID", default="")
ENTRA_CLIENT_SECRET = env_secret("ENTRA_CLIENT_SECRET")
#: appId of each gallery application's multi-tenant registration in Entra ID.
GALLERY_APP_IDS = {
    "dropbox-business": env.str("DROPBOX_GALLERY_APP_ID", default="c3e8a1f4-2b6d-4f7e-9a0b-5d4c3b2a1f0e"),
}
#: id of each gallery application's template in Entra ID (``applicationTemplates/{id}/instantiate``).
GALLERY_TEMPLATE_IDS = {
    "dropbox-business": env.str("DROPBOX_GALLERY_TEMPLATE_ID", default="a1d6c0f4-3e5b-4f2a-8c7d-9b0e1f2a3c4d"),
}
DROPBOX_APP_KEY = env.str("DROPBOX_APP_KEY", default="")
DROPBOX_APP_SECRET = env_secret("DROPBOX_APP_SECRET")

# Sign in with Microsoft Entra ID (portal/entra): the tenant above; the portal's own app registration
# unless ENTRA_SIGN_IN_CLIENT_ID names another. Roles come from its app roles and ENTRA_GROUP_ROLES
# ("<group object id>=administrator,<group object id>=reader"), read again every
# ENTRA_ROLE_REFRESH_SECONDS. LOCAL_SIGN_IN=false leaves passwords to superusers (break glass).
ENTRA_SIGN_IN_CLIENT_ID = env.str("ENTRA_SIGN_IN_CLIENT_ID", default="")
ENTRA_SIGN_IN = env.bool("ENTRA_SIGN_IN", default=bool(ENTRA_SIGN_IN_CLIENT_ID))
ENTRA_SIGN_IN_CLIENT_ID = ENTRA_SIGN_IN_CLIENT_ID or ENTRA_CLIENT_ID
ENTRA_SIGN_IN_CLIENT_SECRET = env_secret("ENTRA_SIGN_IN_CLIENT_SECRET") or (
    ENTRA_CLIENT_SECRET if ENTRA_SIGN_IN_CLIENT_ID == ENTRA_CLIENT_ID else "")
ENTRA_ROLE_REFRESH_SECONDS = env.int("ENTRA_ROLE_REFRESH_SECONDS", default=15 * 60)
LOCAL_SIGN_IN = env.bool("LOCAL_SIGN_IN", default=True)
#: whom a signed-in person without a role should ask (shown on the "no access" page)
ACCESS_CONTACT = env.str("ACCESS_CONTACT", default="")


def _group_roles(raw: str) -> dict[str, str]:
    import uuid

    roles = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        gid, _, role = item.partition("=")
        try:
            gid = str(uuid.UUID(gid.strip()))
        except ValueError:
            raise environ.ImproperlyConfigured(f"ENTRA_GROUP_ROLES: {gid.strip()!r} is not a group object id.") from None
        if role.strip() not in ("administrator", "reader"):
            raise environ.ImproperlyConfigured(f"ENTRA_GROUP_ROLES: the role of {gid} must be administrator or "
                                               f"reader, not {role.strip()!r}.")
        roles[gid] = role.strip()
    return roles


ENTRA_GROUP_ROLES = _group_roles(env.str("ENTRA_GROUP_ROLES", default=""))
SOCIALACCOUNT_ADAPTER = "portal.entra.adapter.EntraSocialAccountAdapter"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_EMAIL_REQUIRED = False
SOCIALACCOUNT_QUERY_EMAIL = False

# ---------------------------------------------------------------------------- security
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin-allow-popups"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading binds the whole domain to HTTPS in browsers for months, beyond
        # this portal's control: an operator's choice, not a default.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # TLS ends at the proxy in front of gunicorn; it tells us the original scheme.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Content-Security-Policy (django-csp): nothing inline, nothing from elsewhere. Forms may post to
# the portal and, for Authorize, land on the Dropbox sign-in pages: portal.security adds the
# origin of DROPBOX_WEB_URL to form-action, as the settings say at the time of the request.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # The QR code of the two-factor setup is a data: image.
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# ---------------------------------------------------------------------------- monitoring
# /metrics (Prometheus) is off unless a bearer token or allowed addresses (CIDRs) are set; with both,
# a scraper needs both. See README, "Monitoring".
METRICS_TOKEN = env_secret("METRICS_TOKEN")
METRICS_ALLOWED_ADDRESSES = env.list("METRICS_ALLOWED_ADDRESSES", default=[])
for _network in METRICS_ALLOWED_ADDRESSES:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise environ.ImproperlyConfigured(f"METRICS_ALLOWED_ADDRESSES: {_network!r} is not an address or a CIDR "
                                           "range.") from None

# ---------------------------------------------------------------------------- logging
#: "plain" (a line of text) or "json" (one JSON object per line, see portal/log_format.py)
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    raise environ.ImproperlyConfigured("LOG_FORMAT must be plain or json.")
LOGGING_CONFIG = "portal.log_format.configure_logging"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "provisioning.audit.RedactSecretsFilter"},
        # Lines written while serving a request name it (the id its error page shows).
        "request_id": {"()": "portal.request_id.RequestIdFilter"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s%(request_tag)s %(message)s"},
                   "json": {"()": "portal.log_format.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id", "redact"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "msal": {"level": "WARNING"},
        # The SDK logs every request at INFO; the engine reports what matters itself.
        "dropbox": {"level": "WARNING"},
    },
}

# ---------------------------------------------------------------------------- REST API (portal/api/)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["portal.api.authentication.PersonalTokenAuthentication",
                                       "portal.api.entra_tokens.EntraTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.permissions.PortalRole"],
    "DEFAULT_THROTTLE_CLASSES": ["portal.api.throttling.PerCredentialThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "portal.api.errors.graph_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Provisioning portal API",
    "DESCRIPTION": "The synchronization API of Microsoft Graph v1.0 (synchronizationJob, synchronizationSchema, "
                   "provisioningObjectSummary), served by the portal for its own applications.",
    "VERSION": "v1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs' assets come from the drf-spectacular-sidecar package, served by the portal itself.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
#: requests a minute for one API token (DRF's rate syntax: "600/min", "20/s")
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/min")
#: how long POST .../provisionOnDemand waits for the worker before answering 202 with the run to poll
API_ON_DEMAND_WAIT_SECONDS = env.float("API_ON_DEMAND_WAIT_SECONDS", default=30)

# ---------------------------------------------------------------------------- provisioning
PROVISIONING_LOG_RETENTION_DAYS = env.int("PROVISIONING_LOG_RETENTION_DAYS", default=30)
#: A running cycle renews its job's lease every second; a worker that dies leaves it to expire after this.
PROVISIONING_LEASE_SECONDS = env.int("PROVISIONING_LEASE_SECONDS", default=60)
# A phase of a cycle with at least PROVISIONING_SHARD_FROM writes (an initial cycle of a large tenant)
# sends and records them from PROVISIONING_SHARDS processes forked by the worker (1: never).
PROVISIONING_SHARDS = env.int("PROVISIONING_SHARDS", default=2)
PROVISIONING_SHARD_FROM = env.int("PROVISIONING_SHARD_FROM", default=10000)
if PROVISIONING_SHARDS < 1 or PROVISIONING_SHARD_FROM < 1:
    raise environ.ImproperlyConfigured("PROVISIONING_SHARDS and PROVISIONING_SHARD_FROM must be whole numbers "
                                       "of at least 1 (PROVISIONING_SHARDS=1 sends every write from the worker "
                                       "itself).")
