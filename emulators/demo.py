"""The demo company both emulators seed, so the demo tenant and the demo team
overlap the way a real migration does: some people exist on both sides, some
only in Entra ID, some only in Dropbox."""

DEMO_DOMAIN = "contoso.com"
#: Identifiers are not secrets; secrets (client secret, app secret, passwords) are
#: never written here: the demo generates them at first start (var/demo.env) and
#: tests make their own.
DEMO_TENANT_ID = "5f0c3e52-8a61-4d3b-9c2e-7a4b1d6e8f20"
#: The portal's own app registration in the tenant (client credentials for Graph).
DEMO_CLIENT_ID = "1b7e4c2a-3d5f-4e6a-8b9c-0d1e2f3a4b5c"
#: The multi-tenant "Dropbox for Business" application that the gallery instantiates.
DROPBOX_FOR_BUSINESS_APP_ID = "c3e8a1f4-2b6d-4f7e-9a0b-5d4c3b2a1f0e"
DROPBOX_FOR_BUSINESS_NAME = "Dropbox for Business"
#: The portal's Dropbox API app (its key is public; its secret is not).
DEMO_DROPBOX_APP_KEY = "pportaldemo0001"
DEMO_TENANT_NAME = "Contoso"
DEMO_TEAM_NAME = "Contoso"

#: The Dropbox team admin who authorizes the portal. Also a user in the tenant.
DEMO_ADMIN = {"email": "admin@contoso.com", "given_name": "Dana", "surname": "Admin"}
#: People the demo tenant gives the portal's own app roles (sign in with Microsoft).
DEMO_PORTAL_ADMINISTRATOR = "alex.wilber@contoso.com"
DEMO_PORTAL_READER = "lynne.robbins@contoso.com"
#: A Dropbox team member without admin rights, to show a refused authorization.
DEMO_NON_ADMIN = {"email": "member@contoso.com", "given_name": "Morgan", "surname": "Member"}

#: People in both the Entra demo tenant and the Dropbox demo team (matched by email).
DEMO_SHARED = [
    {"email": "adele.vance@contoso.com", "given_name": "Adele", "surname": "Vance", "department": "Retail"},
    {"email": "alex.wilber@contoso.com", "given_name": "Alex", "surname": "Wilber", "department": "Marketing"},
    {"email": "megan.bowen@contoso.com", "given_name": "Megan", "surname": "Bowen", "department": "Marketing"},
    {"email": "lynne.robbins@contoso.com", "given_name": "Lynne", "surname": "Robbins", "department": "Retail",
     "dropbox_status": "suspended"},
]

#: Dropbox members with no Entra account (contractors, leavers never cleaned up).
DEMO_DROPBOX_ONLY = [
    {"email": "contractor.lee@contoso.com", "given_name": "Jordan", "surname": "Lee"},
    {"email": "former.employee@contoso.com", "given_name": "Casey", "surname": "Former"},
]
