"""``python -m emulators.dropbox``: run the Dropbox team API emulator."""

from emulators.dropbox.app import main

if __name__ == "__main__":
    main()
