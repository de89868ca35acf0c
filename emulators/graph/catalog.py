"""The multi-tenant applications the emulated tenant can instantiate, as the
Entra application gallery does, and the first-party ones every tenant has."""

from __future__ import annotations

from emulators.demo import DROPBOX_FOR_BUSINESS_APP_ID, DROPBOX_FOR_BUSINESS_NAME

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
#: The tenant that owns Microsoft's first-party applications.
MICROSOFT_SERVICES_TENANT_ID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
#: The publisher tenant of the Dropbox for Business gallery application.
DROPBOX_PUBLISHER_TENANT_ID = "b4d23a5e-9f61-4c8e-a0d7-3e2f1c9b8a74"

#: Microsoft Graph application permissions (app role values and their ids).
GRAPH_APP_ROLES = {
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "User.ReadWrite.All": "741f803b-c850-494e-b5df-cde7c675a1ca",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "Group.ReadWrite.All": "62a82d76-70ea-41e2-9197-370581804d09",
    "GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    "GroupMember.ReadWrite.All": "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Directory.ReadWrite.All": "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c6d2cf4cc4",
    "AppRoleAssignment.ReadWrite.All": "06b708a9-e830-4db3-a914-8e69da51d44f",
}

#: Delegated permissions (scopes) a user can consent to in the sign-in flow.
GRAPH_SCOPES = (
    "User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Group.Read.All",
    "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "Application.Read.All",
    "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "email", "openid", "profile",
    "offline_access",
)

#: The application permissions the portal needs; granted unless ``--permissions`` says otherwise.
DEFAULT_PERMISSIONS = (
    "User.Read.All", "Group.Read.All", "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All",
    "Directory.Read.All", "User.ReadWrite.All", "Group.ReadWrite.All",
)

#: The app roles an organisation defines on the portal's own app registration (README, "Sign in with
#: Microsoft"): assigned to people or groups, they reach the portal as the id token's ``roles``.
PORTAL_ROLE_ADMINISTRATOR = "7c1f3a52-9d4e-4b6a-8e2f-1a3b5c7d9e01"
PORTAL_ROLE_READER = "7c1f3a52-9d4e-4b6a-8e2f-1a3b5c7d9e02"

DROPBOX_ROLE_USER = "e2f1a7c4-5b3d-4e8f-9a61-0c7d2b4e6f18"
DROPBOX_ROLE_MSIAM_ACCESS = "a9c3e5f7-1b2d-4c6e-8f0a-2d4b6c8e0f13"


def _role(role_id: str, display: str, description: str, value, members=("User",)) -> dict:
    return {
        "allowedMemberTypes": list(members), "description": description, "displayName": display,
        "id": role_id, "isEnabled": True, "origin": "Application", "value": value,
    }


def portal_app_roles() -> list[dict]:
    return [
        _role(PORTAL_ROLE_ADMINISTRATOR, "Provisioning administrator",
              "Changes provisioning configuration and starts or stops provisioning.", "Provisioning.Administrator",
              members=("User", "Application")),
        _role(PORTAL_ROLE_READER, "Provisioning reader", "Sees provisioning configuration and logs.",
              "Provisioning.Reader", members=("User", "Application")),
    ]


#: appId -> the properties of the service principal an administrator gets by adding it.
GALLERY = {
    DROPBOX_FOR_BUSINESS_APP_ID: {
        "appDisplayName": DROPBOX_FOR_BUSINESS_NAME,
        "displayName": DROPBOX_FOR_BUSINESS_NAME,
        "appDescription": None,
        "description": None,
        "appOwnerOrganizationId": DROPBOX_PUBLISHER_TENANT_ID,
        "applicationTemplateId": "a1d6c0f4-3e5b-4f2a-8c7d-9b0e1f2a3c4d",
        "appRoleAssignmentRequired": True,
        "homepage": "https://www.dropbox.com/business",
        "loginUrl": "https://www.dropbox.com/sso",
        "logoutUrl": None,
        "preferredSingleSignOnMode": None,
        "publisherName": "Dropbox",
        "replyUrls": ["https://www.dropbox.com/saml_login"],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMultipleOrgs",
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp", "WindowsAzureActiveDirectoryGalleryApplicationPrimaryV1"],
        "info": {"logoUrl": None, "marketingUrl": "https://www.dropbox.com/business",
                 "privacyStatementUrl": "https://www.dropbox.com/privacy",
                 "supportUrl": "https://help.dropbox.com", "termsOfServiceUrl": "https://www.dropbox.com/terms"},
        "appRoles": [
            _role(DROPBOX_ROLE_USER, "User", "User", None),
            _role(DROPBOX_ROLE_MSIAM_ACCESS, "msiam_access", "msiam_access", None),
        ],
    },
    MICROSOFT_GRAPH_APP_ID: {
        "appDisplayName": "Microsoft Graph",
        "displayName": "Microsoft Graph",
        "appDescription": None,
        "description": None,
        "appOwnerOrganizationId": MICROSOFT_SERVICES_TENANT_ID,
        "applicationTemplateId": None,
        "appRoleAssignmentRequired": False,
        "homepage": None,
        "loginUrl": None,
        "logoutUrl": None,
        "preferredSingleSignOnMode": None,
        "publisherName": "Microsoft Services",
        "replyUrls": [],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMultipleOrgs",
        "tags": [],
        "info": {"logoUrl": None, "marketingUrl": None, "privacyStatementUrl": None, "supportUrl": None,
                 "termsOfServiceUrl": None},
        "servicePrincipalNames": [MICROSOFT_GRAPH_APP_ID, "https://graph.microsoft.com",
                                  "https://graph.microsoft.com/", "https://canary.graph.microsoft.com"],
        "appRoles": [
            _role(role_id, f"{value}", f"Allows the app to use {value} without a signed-in user.", value,
                  members=("Application",))
            for value, role_id in GRAPH_APP_ROLES.items()
        ],
    },
}

DROPBOX_FOR_BUSINESS_TEMPLATE_ID = GALLERY[DROPBOX_FOR_BUSINESS_APP_ID]["applicationTemplateId"]

#: id -> the ``applicationTemplate`` resources of the gallery (``GET /applicationTemplates``).
APPLICATION_TEMPLATES = {
    DROPBOX_FOR_BUSINESS_TEMPLATE_ID: {
        "id": DROPBOX_FOR_BUSINESS_TEMPLATE_ID,
        "displayName": DROPBOX_FOR_BUSINESS_NAME,
        "homePageUrl": "https://www.dropbox.com/business",
        "supportedSingleSignOnModes": ["saml", "external"],
        "supportedProvisioningTypes": ["sync"],
        "logoUrl": None,
        "categories": ["collaboration", "contentManagement"],
        "publisher": "Dropbox",
        "description": None,
        # what an instance starts from: the gallery application it copies
        "_app_id": DROPBOX_FOR_BUSINESS_APP_ID,
    },
}


def public_template(template: dict) -> dict:
    return {name: value for name, value in template.items() if not name.startswith("_")}
