"""Fixtures shared by the whole suite: live emulators, named users, and the
rule that a missing system component may skip a test on a laptop but fails it
in CI (``CI=true``)."""

from __future__ import annotations

import os

import pytest

from emulators.process import EmulatorProcess

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, component: str) -> None:
    """Skip when a system component is missing, except in CI where that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{component} is required in CI but is missing")
    pytest.skip(f"{component} is not installed on this machine")


@pytest.fixture(scope="session")
def graph_emulator():
    """A Graph / Entra emulator for the whole session; tests reset it to the seed they need."""
    with EmulatorProcess("graph", "--seed", "empty") as emulator:
        yield emulator


@pytest.fixture(scope="session")
def dropbox_emulator():
    """A Dropbox team API emulator for the whole session; tests reset it to the seed they need."""
    with EmulatorProcess("dropbox", "--seed", "empty") as emulator:
        yield emulator
