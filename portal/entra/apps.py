from django.apps import AppConfig


class EntraSignInConfig(AppConfig):
    name = "portal.entra"
    label = "portal_entra"
    verbose_name = "Sign in with Microsoft Entra ID"

    def ready(self) -> None:
        from allauth.account.signals import user_logged_in
        from django.contrib.auth.signals import user_logged_out, user_login_failed

        from .adapter import password_refused, signed_in, signed_out

        user_logged_in.connect(signed_in, dispatch_uid="portal.entra.signed_in")
        user_login_failed.connect(password_refused, dispatch_uid="portal.entra.password_refused")
        user_logged_out.connect(signed_out, dispatch_uid="portal.entra.signed_out")
