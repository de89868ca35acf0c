"""The demo's embedded defaults work with no server installed: SQLite and
the embedded SQLite broker under var/, a real worker and a real beat."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from tests.workers import ROOT, CeleryProcess, wait_until

pytestmark = pytest.mark.worker


def _environment(var_dir) -> dict:
    """An environment with none of the server settings: only the defaults apply."""
    server_settings = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "CELERY_SQLITE_PATH", "EMAIL_FILE_PATH")
    env = {k: v for k, v in os.environ.items() if k not in server_settings}
    env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "true", "PORTAL_VAR_DIR": str(var_dir),
                "HEARTBEAT_SECONDS": "1", "PYTHONPATH": str(ROOT)})
    return env


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """A var/ folder migrated once, as `make run` leaves it; each test starts from a copy."""
    var_dir = tmp_path_factory.mktemp("embedded") / "var"
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT,
                   env=_environment(var_dir), check=True)
    return var_dir


@pytest.fixture
def embedded_env(migrated, tmp_path):
    var_dir = tmp_path / "var"
    shutil.copytree(migrated, var_dir)
    return _environment(var_dir)


def _query(env, sql: str):
    with sqlite3.connect(os.path.join(env["PORTAL_VAR_DIR"], "portal.sqlite3"), timeout=30) as db:
        return db.execute(sql).fetchall()


def test_a_task_sent_by_the_portal_runs_on_sqlite_and_the_embedded_broker(embedded_env):
    with CeleryProcess("worker", "--pool", "solo", env=embedded_env):
        send = "from provisioning.tasks import heartbeat; heartbeat.delay()"
        subprocess.run([sys.executable, "manage.py", "shell", "-c", send], cwd=ROOT, env=embedded_env, check=True)
        rows = wait_until(lambda: _query(embedded_env, "SELECT name FROM provisioning_serviceheartbeat"), timeout=30)
    assert rows == [("worker",)]
    assert os.path.isfile(os.path.join(embedded_env["PORTAL_VAR_DIR"], "celery.sqlite3"))


def test_beat_schedules_the_heartbeat_and_the_portal_sees_both_alive(embedded_env):
    with CeleryProcess("worker", "--pool", "solo", env=embedded_env):
        schedule = os.path.join(embedded_env["PORTAL_VAR_DIR"], "beat-schedule")
        with CeleryProcess("beat", "--schedule", schedule, env=embedded_env):
            rows = wait_until(
                lambda: _query(
                    embedded_env,
                    "SELECT count(*) FROM provisioning_serviceheartbeat, django_celery_beat_periodictask "
                    "WHERE django_celery_beat_periodictask.name = 'Heartbeat' "
                    "AND django_celery_beat_periodictask.last_run_at IS NOT NULL",
                )[0][0],
                timeout=40,
            )
            assert rows == 1
            status = subprocess.run(
                [sys.executable, "manage.py", "shell", "-c",
                 "from provisioning.health import service_states; print([(s.name, s.label) for s in service_states()])"],
                cwd=ROOT, env=embedded_env, check=True, capture_output=True, text=True,
            ).stdout
    assert "('Worker', 'Running')" in status
    assert "('Scheduler', 'Running')" in status
