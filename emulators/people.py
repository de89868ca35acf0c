"""The demo company both emulators seed, so the demo tenant and the demo team
overlap the way a real migration does: some people exist on both sides, some
only in Entra ID, some only in Dropbox."""

DEMO_DOMAIN = "contoso.com"
DEMO_TENANT_NAME = "Contoso"
DEMO_TEAM_NAME = "Contoso"

#: The Dropbox team admin who authorizes the portal. Also a user in the tenant.
DEMO_ADMIN = {"email": "admin@contoso.com", "given_name": "Dana", "surname": "Admin", "password": "dropbox-demo"}
#: A Dropbox team member without admin rights, to show a refused authorization.
DEMO_NON_ADMIN = {"email": "member@contoso.com", "given_name": "Morgan", "surname": "Member", "password": "dropbox-demo"}

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
