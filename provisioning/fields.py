"""Model fields for secrets at rest."""

from __future__ import annotations

import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

log = logging.getLogger(__name__)

PREFIX = "fernet:"


def _fernet() -> MultiFernet:
    # The first key encrypts; every key decrypts, so keys can be rotated by
    # putting a new one first and keeping the old ones until rows are re-saved.
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in settings.ENCRYPTION_KEYS])


def encrypt(value: str) -> str:
    return PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str | None:
    if not stored.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    try:
        return _fernet().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken:
        # A key was removed from ENCRYPTION_KEYS (or SECRET_KEY changed without it):
        # the secret is lost, which the portal reports as "authorize again".
        log.warning("A stored secret could not be decrypted with the configured ENCRYPTION_KEYS.")
        return None


class EncryptedTextField(models.TextField):
    """Text encrypted with Fernet before it reaches the database.

    The Python value is the plain text (or None). It is never shown by forms or
    the admin: declare it ``editable=False``.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("null", True)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return None
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return None
        return encrypt(value)
