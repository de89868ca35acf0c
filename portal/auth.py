"""Sign-in rules: no open sign-up. Administrators are created with
``createsuperuser`` or invited from the portal by an administrator.

Failed sign-ins are rate limited per account and per client address
(``ACCOUNT_RATE_LIMITS``); the address is the one the audit trail records: the
real client behind ``TRUSTED_PROXY_COUNT`` proxies, not the proxy that every
user shares."""

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied

from provisioning.audit import client_ip


class ClosedSignupAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False

    def get_client_ip(self, request) -> str:
        address = client_ip(request)
        if not address:
            raise PermissionDenied("The client address is unknown.")
        return address
