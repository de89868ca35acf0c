"""The portal's REST API, shaped like Microsoft Graph's synchronization API (see urls.py), the personal API
tokens that call it, and the provisioning configuration as a file: export, import and its versions."""
