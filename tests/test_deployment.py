"""The production stack: every compose service runs a command that exists in
this repository, and Django's deploy checks pass with DEBUG off."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _module_exists(name: str) -> bool:
    sys.path.insert(0, str(ROOT))
    try:
        return importlib.util.find_spec(name) is not None
    finally:
        sys.path.remove(str(ROOT))


def _management_commands() -> set[str]:
    from django.core.management import get_commands

    return set(get_commands())


def _check_command(argv: list[str]) -> None:
    program = argv[0]
    if program == "python":
        if argv[1] == "-m":
            assert _module_exists(argv[2]), f"python -m {argv[2]}: no such module"
        elif argv[1] == "-c":
            compile(argv[2], "<healthcheck>", "exec")
        else:
            assert (ROOT / argv[1]).exists(), argv
            if argv[1] == "manage.py":
                assert argv[2] in _management_commands(), f"manage.py {argv[2]}: no such command"
    elif program == "gunicorn":
        module = argv[1].split(":")[0]
        assert _module_exists(module), f"gunicorn app {argv[1]} not found"
    elif program == "celery":
        assert argv[1:3] == ["-A", "portal"] and _module_exists("portal.celery")
        assert argv[3] in ("worker", "beat", "inspect")
    else:
        raise AssertionError(f"unexpected program {program!r} in a compose command")


def test_every_compose_service_runs_a_command_that_exists():
    compose = _compose()
    portal_services = [name for name, svc in compose["services"].items() if svc.get("image", "").startswith("provisioning-portal")]
    assert set(portal_services) >= {"web", "worker", "beat", "migrate", "graph-emulator", "dropbox-emulator"}
    for name in portal_services:
        command = compose["services"][name].get("command")
        assert command, f"{name} has no command"
        _check_command(command)


def test_every_portal_healthcheck_is_runnable():
    compose = _compose()
    for name, service in compose["services"].items():
        test = service.get("healthcheck", {}).get("test")
        if not test or not service.get("image", "").startswith("provisioning-portal"):
            continue
        if test[0] == "CMD":
            _check_command(test[1:])
        else:  # CMD-SHELL
            _check_command(shlex.split(test[1].replace("$$HOSTNAME", "host")))
        for url_path in re.findall(r"http://127\.0\.0\.1:\d+(/[\w/]+)", " ".join(test)):
            assert url_path in ("/healthz", "/_emulator/health"), url_path


def test_the_stack_has_the_servers_and_volumes_it_needs():
    compose = _compose()
    assert {"postgres", "redis"} <= set(compose["services"])
    for name in ("postgres", "redis"):
        assert compose["services"][name].get("healthcheck"), name
        assert compose["services"][name].get("volumes"), name
    assert compose["services"]["graph-emulator"]["profiles"] == ["demo"]
    assert compose["services"]["dropbox-emulator"]["profiles"] == ["demo"]
    web_env = compose["x-portal"]["environment"]
    assert web_env["DATABASE_URL"].startswith("postgres://")
    assert web_env["CELERY_BROKER_URL"].startswith("redis://")


def test_the_dockerfile_starts_gunicorn_on_the_wsgi_app():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "collectstatic" in dockerfile
    cmd = re.search(r'^CMD (\[.*\])$', dockerfile, re.M).group(1)
    _check_command(yaml.safe_load(cmd))


def test_check_deploy_is_clean_with_debug_off(tmp_path):
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "SESSION_COOKIE", "CSRF_COOKIE", "STATIC_MANIFEST", "DJANGO_ALLOW_ASYNC"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="false",
        SECRET_KEY="k" * 20 + "-deploy-check-" + "9f8e7d6c5b4a3f2e1d0c9b8a7",
        ALLOWED_HOSTS="portal.example.org",
        PORTAL_VAR_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_settings_refuse_to_start_without_a_secret_key_when_debug_is_off(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", PORTAL_VAR_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_the_migrations_hold_every_model_change(tmp_path):
    # A model (or a choice list) changed without its migration would be applied nowhere.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "true", "PORTAL_VAR_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_the_settings_refuse_a_number_of_shards_below_one(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "true", "PORTAL_VAR_DIR": str(tmp_path),
           "PROVISIONING_SHARDS": "0"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "PROVISIONING_SHARDS and PROVISIONING_SHARD_FROM must be whole numbers of at least 1" in result.stderr
