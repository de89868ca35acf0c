"""Sign-in rules: no open sign-up. Administrators are created with
``createsuperuser`` or invited from the portal by an administrator."""

from allauth.account.adapter import DefaultAccountAdapter


class ClosedSignupAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False
