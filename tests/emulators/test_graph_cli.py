"""The command line: every flag is documented, bad input is refused, and
generated secrets are printed so a person can use them."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from emulators.graph.server import build_parser
from emulators.process import EmulatorProcess, free_port


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emulators.graph", *args], capture_output=True, text=True,
                          timeout=60)


def test_help_mentions_every_flag():
    result = run("--help")

    assert result.returncode == 0
    flags = {option for action in build_parser()._actions for option in action.option_strings
             if option.startswith("--")}
    assert {"--host", "--port", "--latency-ms", "--rate-limit", "--fail-rate", "--state-file", "--random-seed",
            "--seed", "--tenant-id", "--client-id", "--client-secret", "--user-password", "--authority-host",
            "--public-url", "--permissions", "--token-lifetime", "--redirect-uri", "--delta-page-size",
            "--delta-members-chunk"} <= flags
    for flag in flags:
        assert flag in result.stdout, flag
    assert "synthetic:N" in result.stdout
    for action in build_parser()._actions:
        assert action.help, action.option_strings


def test_it_refuses_an_unknown_seed():
    result = run("--seed", "galaxy", "--port", "1")

    assert result.returncode != 0
    assert "unknown seed 'galaxy'" in result.stderr


def test_it_generates_and_prints_secrets_that_were_not_given():
    cmd = [sys.executable, "-m", "emulators.graph", "--port", str(free_port()), "--seed", "empty"]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # No ENTRA_CLIENT_SECRET or GRAPH_EMULATOR_USER_PASSWORD in this environment.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=root,
                            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp"})
    try:
        lines = [proc.stdout.readline() for _ in range(2)]
    finally:
        proc.terminate()
        proc.wait(10)
    secret = re.search(r"client secret: (\S+)", "".join(lines))
    password = re.search(r"user password: (\S+)", "".join(lines))
    assert secret and len(secret.group(1)) >= 32
    assert password and len(password.group(1)) >= 12


def test_it_builds_links_on_the_public_url():
    with EmulatorProcess("graph", "--seed", "demo", "--public-url", "https://graph.example.test",
                         "--client-secret=s3cret-for-this-test") as emulator:
        import requests

        token = requests.post(f"{emulator.url}/contoso.com/oauth2/v2.0/token", data={
            "client_id": "1b7e4c2a-3d5f-4e6a-8b9c-0d1e2f3a4b5c", "client_secret": "s3cret-for-this-test",
            "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"}).json()["access_token"]
        body = requests.get(f"{emulator.url}/v1.0/users?$top=1",
                            headers={"Authorization": f"Bearer {token}"}).json()

    assert body["@odata.nextLink"].startswith("https://graph.example.test/v1.0/users?")
    assert body["@odata.context"] == "https://graph.example.test/v1.0/$metadata#users"
