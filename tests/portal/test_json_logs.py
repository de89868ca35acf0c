"""LOG_FORMAT=json: each log line is one JSON object with the time, level, logger and message, and the
request or cycle it belongs to; the redaction of secrets still applies. (The worker's lines are
checked on a real worker in tests/engine/test_metrics_on_a_worker.py.)"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap

import pytest

from portal.log_format import JsonFormatter
from portal.request_id import RequestIdFilter
from provisioning.audit import RedactSecretsFilter
from provisioning.log_context import in_cycle
from tests.workers import ROOT

SCRIPT = textwrap.dedent("""
    import logging, sys
    import django
    django.setup()
    from django.test import Client
    answer = Client().get("/no-such-page?code=s3cret-code-value", HTTP_HOST="localhost")
    print(answer["X-Request-ID"])
    logging.getLogger("provisioning.test").warning("sent refresh_token=s3cret-refresh-value to Dropbox")
    try:
        raise RuntimeError("failed with client_secret=s3cret-client-value")
    except RuntimeError:
        logging.getLogger("provisioning.test").exception("It broke")
""")


def run_with(log_format: str) -> tuple[str, list[str]]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "LOG_FORMAT": log_format,
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip(), [line for line in done.stderr.splitlines() if line.strip()]


def test_with_log_format_json_every_line_is_a_json_object_with_the_request_id():
    request_id, lines = run_with("json")
    records = [json.loads(line) for line in lines]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    not_found = next(r for r in records if r["logger"] == "django.request")
    assert not_found["level"] == "WARNING" and not_found["message"].startswith("Not Found: /no-such-page")
    assert not_found["request_id"] == request_id and not_found["status_code"] == 404
    assert "s3cret" not in "\n".join(lines)  # the message, the traceback, and no request's URL dumped
    broke = next(r for r in records if r["message"] == "It broke")
    assert "RuntimeError: failed with client_secret=[redacted]" in broke["exc_info"]
    assert "request_id" not in broke


def test_plain_stays_the_default_line_of_text():
    request_id, lines = run_with("plain")
    line = next(line for line in lines if "Not Found" in line)
    assert f"django.request [request {request_id}] Not Found" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_a_line_written_during_a_cycle_names_it():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    for flt in (RequestIdFilter(), RedactSecretsFilter()):
        handler.addFilter(flt)
    logger = logging.getLogger("tests.json_logs")
    logger.addHandler(handler)
    logger.propagate, logger.level = False, logging.INFO
    try:
        with in_cycle("1b4e28ba-2fa1-11d2-883f-0016d3cca427"):
            logger.info("Read %d users with access_token=%s", 3, "abcdefghijkl")
        logger.info("After the cycle")
    finally:
        logger.removeHandler(handler)
    during, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert during["cycle_id"] == "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    assert during["message"] == "Read 3 users with access_token=[redacted]"
    assert "cycle_id" not in after and "task_id" not in after


def test_under_gunicorn_its_own_error_and_access_lines_are_json_too():
    import socket
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "LOG_FORMAT": "json", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--config", "python:portal.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", "-"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page?code=s3cret-code", timeout=5)
            except urllib.error.HTTPError as answer:
                request_id = answer.headers["X-Request-ID"]
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    loggers = {r["logger"] for r in records}
    assert {"gunicorn.error", "gunicorn.access", "django.request"} <= loggers
    access = next(r for r in records if r["logger"] == "gunicorn.access")
    assert access["request_id"] == request_id and access["status_code"] == 404
