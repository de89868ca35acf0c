"""Standalone emulators of Microsoft Graph / Entra ID and of the Dropbox team API.

Run them with ``python -m emulators.graph`` and ``python -m emulators.dropbox``.
They import nothing from the portal.
"""
