"""``LOG_FORMAT=json``: every log line of the web processes, the Celery worker and beat is one JSON
object, for log shippers: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, and when known
``request_id`` (the id shown on error pages and sent in ``X-Request-ID``), ``cycle_id`` (the
provisioning cycle being run), ``task_id``/``task`` (the Celery task), ``status_code`` and
``exc_info`` (the traceback).

The formatter is python-json-logger's: a small, maintained library that turns a record into JSON
with the stdlib encoder (odd values through ``str``), copes with dict messages and stack info, and
lets a subclass choose the fields. This subclass writes a fixed set of fields, not every attribute
of the record: the ``request`` Django hands to its loggers would print its full URL with any query
string, past the redaction. The redaction filter of the handler still applies to the message; the
traceback written is the one it redacted (the library would format the exception anew).

Celery configures its own logging unless something answers its ``setup_logging`` signal; in JSON
mode :func:`configure_celery` answers it with the portal's configuration, so the worker's and beat's
lines (``celery.*`` loggers included) go through the same handler, and the worker prints no banner
(not a log line). Beat's banner needs ``celery --quiet beat``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

from provisioning.numbers import is_whole_number

#: record attributes some loggers add (``extra=``) that are safe and worth a field of their own
_EXTRAS = ("status_code",)


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object per line, with the fields named in the module's docstring."""

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        from provisioning.audit import redact_text
        from provisioning.log_context import current_cycle_id

        from .request_id import request_id_of

        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        request_id = request_id_of(getattr(record, "request", None)) or _access_atoms(record).get("request_id")
        if request_id:
            log_data["request_id"] = request_id
        cycle_id = current_cycle_id()
        if cycle_id:
            log_data["cycle_id"] = cycle_id
        log_data.update(_task_fields())
        for name in _EXTRAS:
            if isinstance(getattr(record, name, None), (int, str)):
                log_data[name] = getattr(record, name)
        if "status" in _access_atoms(record):
            log_data["status_code"] = _access_atoms(record)["status"]
        # The redaction filter formats (and redacts) the traceback into exc_text; without it, redact here.
        traceback = record.exc_text or message_dict.get("exc_info")
        if traceback:
            log_data["exc_info"] = redact_text(str(traceback))
        if message_dict.get("stack_info"):
            log_data["stack_info"] = redact_text(str(message_dict["stack_info"]))


def _access_atoms(record: logging.LogRecord) -> dict:
    """The request id and status of a gunicorn access line (its arguments are the line's atoms)."""
    if record.name != "gunicorn.access" or not isinstance(record.args, Mapping):
        return {}
    found = {}
    try:
        request_id, status = record.args["{x-request-id}o"], record.args["s"]
    except (KeyError, TypeError):
        return {}
    if isinstance(request_id, str) and request_id != "-":
        found["request_id"] = request_id
    if is_whole_number(str(status)):
        found["status"] = int(status)
    return found


def _task_fields() -> dict:
    from celery import current_task

    task = current_task._get_current_object()  # None outside a task
    request_id = getattr(getattr(task, "request", None), "id", None)
    return {"task_id": request_id, "task": task.name} if request_id else {}


def configure_logging(config: dict) -> None:
    """Django's ``LOGGING_CONFIG``: the dictionary configuration, and in JSON mode Python's warnings
    written through logging too (they go straight to stderr otherwise, as text)."""
    import logging.config

    logging.config.dictConfig(config)
    if config.get("handlers", {}).get("console", {}).get("formatter") == "json":
        logging.captureWarnings(True)


def configure_celery() -> None:
    """In JSON mode, keep Celery from configuring logging (the portal's configuration stays) and from
    printing the worker's banner. Decided from the environment, as the settings do: this runs while the
    settings module may still be importing."""
    import os

    from celery import signals

    if os.environ.get("LOG_FORMAT", "").strip().lower() != "json":
        return

    def keep_portal_logging(loglevel=None, **_kwargs) -> None:
        from django.conf import settings

        configure_logging(settings.LOGGING)
        if loglevel:
            logging.getLogger().setLevel(loglevel)

    def no_banner(instance=None, **_kwargs) -> None:
        if instance is not None:
            instance.quiet = True

    signals.setup_logging.connect(keep_portal_logging, weak=False)
    signals.celeryd_init.connect(no_banner, weak=False)
