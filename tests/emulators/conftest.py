"""Fixtures of the Dropbox emulator's tests: the demo team, and the SDK's team
client on the admin's long-lived token."""

from __future__ import annotations

import pytest


@pytest.fixture
def emulator(dropbox_emulator):
    dropbox_emulator.reset("demo")
    return dropbox_emulator


@pytest.fixture
def dbx(emulator):
    return emulator.team_client()
