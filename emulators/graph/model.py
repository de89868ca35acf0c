"""Directory objects and what Graph knows about their properties.

Users are the bulk of a tenant (up to a few hundred thousand here), so they
are compact objects with slots for the common properties and a small dict for
the rest. Groups and service principals are few and keep a plain dict.
"""

from __future__ import annotations

from typing import Any

# ------------------------------------------------------------------ users

#: The properties ``GET /users`` returns when no ``$select`` is given, in Graph's order.
USER_DEFAULT = (
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
)

#: property -> Graph type: "str", "bool", "strs" (string collection), "dt", "obj", "objs".
USER_TYPES: dict[str, str] = {
    "id": "str", "deletedDateTime": "dt", "accountEnabled": "bool", "ageGroup": "str",
    "assignedLicenses": "objs", "assignedPlans": "objs", "businessPhones": "strs", "city": "str",
    "companyName": "str", "consentProvidedForMinor": "str", "country": "str", "createdDateTime": "dt",
    "creationType": "str", "department": "str", "displayName": "str", "employeeHireDate": "dt",
    "employeeId": "str", "employeeLeaveDateTime": "dt", "employeeOrgData": "obj", "employeeType": "str",
    "externalUserState": "str", "externalUserStateChangeDateTime": "dt", "faxNumber": "str",
    "givenName": "str", "identities": "objs", "imAddresses": "strs", "isResourceAccount": "bool",
    "jobTitle": "str", "lastPasswordChangeDateTime": "dt", "legalAgeGroupClassification": "str",
    "mail": "str", "mailNickname": "str", "mobilePhone": "str", "officeLocation": "str",
    "onPremisesDistinguishedName": "str", "onPremisesDomainName": "str",
    "onPremisesExtensionAttributes": "obj", "onPremisesImmutableId": "str",
    "onPremisesLastSyncDateTime": "dt", "onPremisesSamAccountName": "str",
    "onPremisesSecurityIdentifier": "str", "onPremisesSyncEnabled": "bool",
    "onPremisesUserPrincipalName": "str", "otherMails": "strs", "passwordPolicies": "str",
    "passwordProfile": "obj", "postalCode": "str", "preferredDataLocation": "str",
    "preferredLanguage": "str", "proxyAddresses": "strs", "securityIdentifier": "str",
    "showInAddressList": "bool", "signInSessionsValidFromDateTime": "dt", "state": "str",
    "streetAddress": "str", "surname": "str", "usageLocation": "str", "userPrincipalName": "str",
    "userType": "str",
}

#: Properties a client may set with POST or PATCH.
USER_WRITABLE = frozenset({
    "accountEnabled", "ageGroup", "businessPhones", "city", "companyName", "consentProvidedForMinor",
    "country", "department", "displayName", "employeeHireDate", "employeeId", "employeeLeaveDateTime",
    "employeeOrgData", "employeeType", "faxNumber", "givenName", "jobTitle", "mail", "mailNickname",
    "mobilePhone", "officeLocation", "onPremisesExtensionAttributes", "onPremisesImmutableId",
    "otherMails", "passwordPolicies", "passwordProfile", "postalCode", "preferredDataLocation",
    "preferredLanguage", "showInAddressList", "state", "streetAddress", "surname", "usageLocation",
    "userPrincipalName", "userType",
})

_LIST_DEFAULTS = {"businessPhones", "imAddresses", "otherMails", "proxyAddresses", "assignedLicenses",
                  "assignedPlans"}

_USER_SLOTS = (
    "id", "userPrincipalName", "displayName", "givenName", "surname", "mail", "mailNickname",
    "jobTitle", "department", "employeeId", "companyName", "officeLocation", "usageLocation",
    "preferredLanguage", "mobilePhone", "businessPhones", "accountEnabled", "createdDateTime",
    "city", "country", "userType", "deletedDateTime",
)
_USER_SLOT_SET = frozenset(_USER_SLOTS)


class User:
    """One user. Collections are stored as tuples so they can be shared safely."""

    __slots__ = _USER_SLOTS + ("extra",)

    def __init__(self, **values: Any):
        for name in _USER_SLOTS:
            setattr(self, name, None)
        self.businessPhones = ()
        self.userType = "Member"
        self.extra = None
        for name, value in values.items():
            self.set(name, value)

    def get(self, name: str) -> Any:
        if name in _USER_SLOT_SET:
            return getattr(self, name)
        computed = _USER_COMPUTED.get(name)
        if computed is not None:
            return computed(self)
        if self.extra and name in self.extra:
            return self.extra[name]
        return () if name in _LIST_DEFAULTS else None

    def set(self, name: str, value: Any) -> None:
        if isinstance(value, list):
            value = tuple(value)
        if name in _USER_SLOT_SET:
            setattr(self, name, value)
        else:
            if self.extra is None:
                self.extra = {}
            self.extra[name] = value

    # Pickling slots without a __dict__ needs explicit state.
    def __getstate__(self):
        return tuple(getattr(self, name) for name in _USER_SLOTS) + (self.extra,)

    def __setstate__(self, state):
        for name, value in zip(_USER_SLOTS + ("extra",), state):
            setattr(self, name, value)


def _password_profile(user: User) -> dict:
    stored = (user.extra or {}).get("passwordProfile") or {}
    return {
        "password": None,
        "forceChangePasswordNextSignIn": bool(stored.get("forceChangePasswordNextSignIn", False)),
        "forceChangePasswordNextSignInWithMfa": bool(stored.get("forceChangePasswordNextSignInWithMfa", False)),
    }


def _identities(user: User) -> list:
    upn = user.userPrincipalName or ""
    return [{"signInType": "userPrincipalName", "issuer": upn.rpartition("@")[2],
             "issuerAssignedId": upn}]


def _extension_attributes(user: User) -> dict:
    stored = (user.extra or {}).get("onPremisesExtensionAttributes") or {}
    return {f"extensionAttribute{i}": stored.get(f"extensionAttribute{i}") for i in range(1, 16)}


def _proxy_addresses(user: User) -> tuple:
    return (f"SMTP:{user.mail}",) if user.mail else ()


_USER_COMPUTED = {
    "passwordProfile": _password_profile,
    "identities": _identities,
    "onPremisesExtensionAttributes": _extension_attributes,
    "proxyAddresses": _proxy_addresses,
}

# ------------------------------------------------------------------ groups

GROUP_DEFAULT = (
    "id", "deletedDateTime", "classification", "createdDateTime", "creationOptions", "description",
    "displayName", "expirationDateTime", "groupTypes", "isAssignableToRole", "mail", "mailEnabled",
    "mailNickname", "membershipRule", "membershipRuleProcessingState", "onPremisesDomainName",
    "onPremisesLastSyncDateTime", "onPremisesNetBiosName", "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "preferredDataLocation",
    "preferredLanguage", "proxyAddresses", "renewedDateTime", "resourceBehaviorOptions",
    "resourceProvisioningOptions", "securityEnabled", "securityIdentifier", "theme", "visibility",
    "onPremisesProvisioningErrors", "serviceProvisioningErrors",
)

GROUP_TYPES: dict[str, str] = {name: "str" for name in GROUP_DEFAULT}
GROUP_TYPES.update({
    "deletedDateTime": "dt", "createdDateTime": "dt", "expirationDateTime": "dt",
    "onPremisesLastSyncDateTime": "dt", "renewedDateTime": "dt",
    "creationOptions": "strs", "groupTypes": "strs", "proxyAddresses": "strs",
    "resourceBehaviorOptions": "strs", "resourceProvisioningOptions": "strs",
    "onPremisesProvisioningErrors": "objs", "serviceProvisioningErrors": "objs",
    "isAssignableToRole": "bool", "mailEnabled": "bool", "securityEnabled": "bool",
    "onPremisesSyncEnabled": "bool",
})

GROUP_WRITABLE = frozenset({
    "classification", "description", "displayName", "groupTypes", "isAssignableToRole", "mailEnabled",
    "mailNickname", "membershipRule", "membershipRuleProcessingState", "preferredDataLocation",
    "preferredLanguage", "securityEnabled", "theme", "visibility", "resourceBehaviorOptions",
    "resourceProvisioningOptions",
})

#: Relationships a group delta can track.
GROUP_DELTA_RELATIONSHIPS = frozenset({"members"})


class Group:
    """One group; ``p`` holds its properties."""

    __slots__ = ("p",)

    def __init__(self, **values: Any):
        self.p: dict = {}
        for name, value in values.items():
            self.set(name, value)

    @property
    def id(self) -> str:
        return self.p["id"]

    def get(self, name: str) -> Any:
        if name in self.p:
            return self.p[name]
        return () if GROUP_TYPES.get(name) in ("strs", "objs") else None

    def set(self, name: str, value: Any) -> None:
        self.p[name] = tuple(value) if isinstance(value, list) else value

    def __getstate__(self):
        return self.p

    def __setstate__(self, state):
        self.p = state

    @property
    def is_unified(self) -> bool:
        return "Unified" in (self.p.get("groupTypes") or ())


# ------------------------------------------------------------------ service principals

SP_DEFAULT = (
    "id", "deletedDateTime", "accountEnabled", "alternativeNames", "appDisplayName", "appDescription",
    "appId", "applicationTemplateId", "appOwnerOrganizationId", "appRoleAssignmentRequired",
    "createdDateTime", "description", "disabledByMicrosoftStatus", "displayName", "homepage",
    "loginUrl", "logoutUrl", "notes", "notificationEmailAddresses", "preferredSingleSignOnMode",
    "preferredTokenSigningKeyThumbprint", "replyUrls", "servicePrincipalNames", "servicePrincipalType",
    "signInAudience", "tags", "tokenEncryptionKeyId", "samlSingleSignOnSettings", "addIns", "appRoles",
    "info", "keyCredentials", "oauth2PermissionScopes", "passwordCredentials",
    "resourceSpecificApplicationPermissions", "verifiedPublisher",
)

SP_TYPES: dict[str, str] = {name: "str" for name in SP_DEFAULT}
SP_TYPES.update({
    "deletedDateTime": "dt", "createdDateTime": "dt", "accountEnabled": "bool",
    "appRoleAssignmentRequired": "bool", "alternativeNames": "strs", "notificationEmailAddresses": "strs",
    "replyUrls": "strs", "servicePrincipalNames": "strs", "tags": "strs", "addIns": "objs",
    "appRoles": "objs", "keyCredentials": "objs", "oauth2PermissionScopes": "objs",
    "passwordCredentials": "objs", "resourceSpecificApplicationPermissions": "objs",
    "info": "obj", "samlSingleSignOnSettings": "obj", "verifiedPublisher": "obj",
})


class ServicePrincipal:
    """One service principal (an enterprise application); ``p`` holds its properties."""

    __slots__ = ("p",)

    def __init__(self, **values: Any):
        self.p = dict(values)

    @property
    def id(self) -> str:
        return self.p["id"]

    def get(self, name: str) -> Any:
        if name in self.p:
            return self.p[name]
        return [] if SP_TYPES.get(name) in ("strs", "objs") else None

    def __getstate__(self):
        return self.p

    def __setstate__(self, state):
        self.p = state

    def role_ids(self) -> set[str]:
        return {role["id"] for role in self.p.get("appRoles") or ()}


# ------------------------------------------------------------------ app role assignments

ASSIGNMENT_PROPERTIES = (
    "id", "deletedDateTime", "appRoleId", "createdDateTime", "principalDisplayName", "principalId",
    "principalType", "resourceDisplayName", "resourceId",
)

DEFAULT_ACCESS_ROLE_ID = "00000000-0000-0000-0000-000000000000"


class Assignment:
    """An app role granted to a user, group or service principal on a resource service principal."""

    __slots__ = ("id", "appRoleId", "createdDateTime", "principalId", "principalType", "resourceId")

    def __init__(self, id: str, appRoleId: str, createdDateTime: str, principalId: str,
                 principalType: str, resourceId: str):
        self.id = id
        self.appRoleId = appRoleId
        self.createdDateTime = createdDateTime
        self.principalId = principalId
        self.principalType = principalType
        self.resourceId = resourceId

    def __getstate__(self):
        return (self.id, self.appRoleId, self.createdDateTime, self.principalId, self.principalType,
                self.resourceId)

    def __setstate__(self, state):
        (self.id, self.appRoleId, self.createdDateTime, self.principalId, self.principalType,
         self.resourceId) = state
