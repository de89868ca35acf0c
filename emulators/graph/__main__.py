"""``python -m emulators.graph``: run the Microsoft Graph / Entra ID emulator."""

from .server import main

if __name__ == "__main__":
    main()
