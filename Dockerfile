# The portal's image: web (gunicorn), Celery worker and beat, and the emulators
# all run from it with different commands (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORTAL_VAR_DIR=/var/lib/portal \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# Collect, hash and compress the static files into the image; whitenoise serves them.
RUN DEBUG=false SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0

RUN useradd --system --uid 10001 --home /var/lib/portal portal \
    && mkdir -p /var/lib/portal && chown portal /var/lib/portal
USER portal

EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--config", "python:portal.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "--forwarded-allow-ips", "*"]
