"""An emulator of the Dropbox team API and of Dropbox's OAuth pages.

Run it with ``python -m emulators.dropbox --help``. The official ``dropbox``
SDK talks to it unchanged (through a session that rewrites the https URLs it
builds). Arguments are decoded with the SDK's own Stone validators, as the real
server is generated from the same specification; answers are plain dicts so
that a strict decode on the client side is a real check.

Modules: :mod:`.state` holds the team and its rules, :mod:`.wire` turns it into
the JSON the real service sends, :mod:`.api` serves ``/2/...``, :mod:`.oauth`
the sign-in, consent and token endpoints, :mod:`.pages` the HTML, and
:mod:`.app` ties them to :class:`emulators.base.Emulator`. :mod:`.signin` goes
through the sign-in and consent pages without a browser, for tests and scripts.
"""
