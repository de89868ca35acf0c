"""An emulator of Microsoft Entra ID: the sign-in endpoints of the Microsoft
identity platform (``login.microsoftonline.com``) and the directory part of
Microsoft Graph v1.0 (``graph.microsoft.com``) that a provisioning service uses.

Run it with ``python -m emulators.graph --help``.
"""
