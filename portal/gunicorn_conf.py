"""gunicorn's settings for the portal: ``gunicorn portal.wsgi:application --config
python:portal.gunicorn_conf``. With ``LOG_FORMAT=json``, gunicorn's own lines (its error log
and the access log) are JSON objects like the portal's (portal/log_format.py), secrets redacted;
an access line carries the request's id from the ``X-Request-ID`` the portal answered with.
Otherwise gunicorn logs as it always does."""

import os

if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "provisioning.audit.RedactSecretsFilter"}},
        "formatters": {"json": {"()": "portal.log_format.JsonFormatter"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["redact"],
                        "stream": "ext://sys.stderr"},
        },
        "root": {"level": "INFO", "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }
