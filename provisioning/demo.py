"""Identifiers of the demo that ``make run`` starts: the emulated tenant, the
portal's app registration in it, the portal's Dropbox API app and the Dropbox
accounts that sign in. None is a secret (secrets are generated at first start
and kept in var/demo.env). ``make run`` hands them to the emulators as flags
(see the Procfile), so both sides of the demo agree on them."""

DEMO_TENANT_ID = "5f0c3e52-8a61-4d3b-9c2e-7a4b1d6e8f20"
DEMO_CLIENT_ID = "1b7e4c2a-3d5f-4e6a-8b9c-0d1e2f3a4b5c"
DEMO_DROPBOX_APP_KEY = "pportaldemo0001"
#: the Dropbox team admin who selects Authorize (also a user in the demo tenant), and a member who is not an admin
DEMO_DROPBOX_ADMIN_EMAIL = "admin@contoso.com"
DEMO_DROPBOX_MEMBER_EMAIL = "member@contoso.com"
#: people the demo tenant gives the portal's own app roles (Sign in with Microsoft)
DEMO_PORTAL_ADMINISTRATOR = "alex.wilber@contoso.com"
DEMO_PORTAL_READER = "lynne.robbins@contoso.com"
