"""Settings for the test suite: production settings (DEBUG off) with what only a
TLS proxy could give switched off, a var/ folder of its own, and fast hashing.

DATABASE_URL and CELERY_BROKER_URL still choose PostgreSQL and Redis (CI)."""

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
for key, value in {
    "PORTAL_VAR_DIR": str(_ROOT / "var" / "test"),
    "SECRET_KEY": "test-suite-key-not-a-secret-" + "x" * 30,
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_HSTS_SECONDS": "0",
    "STATIC_MANIFEST": "false",
    "WHITENOISE_USE_FINDERS": "true",
    # Each test run has its own queue file, so two runs on one machine never
    # take each other's tasks (worker processes inherit this variable).
    "CELERY_SQLITE_PATH": str(_ROOT / "var" / "test" / f"celery-{os.getpid()}.sqlite3"),
}.items():
    os.environ.setdefault(key, value)

from portal.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A test database of this run's own, for the same reason (SQLite file or PostgreSQL database).
_run = os.environ.setdefault("PORTAL_TEST_RUN", str(os.getpid()))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-portal-{_run}.sqlite3")}  # noqa: F405
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_run}"}  # noqa: F405
