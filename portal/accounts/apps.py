from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "Portal accounts"

    def ready(self) -> None:
        from . import sessions  # noqa: F401  (connects the sign-in and sign-out signals)
