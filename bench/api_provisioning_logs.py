"""GET /api/v1.0/auditLogs/provisioning at a million rows, on PostgreSQL.

Fills (or reuses) the database of bench/provisioning_logs.py — the same realistic rows of one job — then
asks the API for each common ``$filter`` through Django's test client with a personal API token
(authentication, rate limit, permission checks and JSON rendering included), and prints the median and
95th percentile in milliseconds of the first page and of the page its ``@odata.nextLink`` leads to.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_provisioning_logs .venv/bin/python bench/api_provisioning_logs.py

Options: ``--reuse`` keeps the database and rows of an earlier run (of this script or of
bench/provisioning_logs.py), ``--drop`` drops it when done, ``--rows N`` (1,000,000), ``--repeat N``
requests per filter (15), ``--top N`` rows per page (50, the API's default).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provisioning_logs as page_bench  # the page's benchmark: its database and rows


def filters(values: dict, job_id: str, sp_id: str) -> list[tuple[str, str]]:
    now = datetime.now(UTC)
    day = (now - timedelta(days=11)).strftime("%Y-%m-%dT%H:%M:%SZ")
    next_day = (now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    month = (now - timedelta(days=30)).strftime("%Y-%m-%d")
    return [
        ("no filter", ""),
        ("last 30 days", f"activityDateTime ge {month}"),
        ("status failure", "provisioningStatusInfo/status eq 'failure'"),
        ("action disable", "provisioningAction eq 'disable'"),
        ("action stagedDelete (30 d)", f"provisioningAction eq 'stagedDelete' and activityDateTime ge {month}"),
        ("one day, 11 days ago", f"activityDateTime ge {day} and activityDateTime lt {next_day}"),
        ("source identity id", f"sourceIdentity/id eq '{values['source_id']}'"),
        ("target identity id", f"targetIdentity/id eq '{values['target_id']}'"),
        ("cycle id", f"cycleId eq '{values['cycle_id']}'"),
        ("change id", f"changeId eq '{values['change_id']}'"),
        ("status + action", "provisioningStatusInfo/status eq 'failure' and provisioningAction eq 'update'"),
        ("status + action, none match (30 d)", ("provisioningStatusInfo/status eq 'skipped' and provisioningAction "
                                                f"eq 'create' and activityDateTime ge {month}")),
        ("cycle + status", f"cycleId eq '{values['cycle_id']}' and provisioningStatusInfo/status eq 'skipped'"),
        ("job id + action", f"jobId eq '{job_id}' and provisioningAction eq 'create'"),
        ("service principal + status", (f"servicePrincipal/id eq '{sp_id}' and provisioningStatusInfo/status eq "
                                        "'warning'")),
    ]


def time_request(client, path: str, params: dict, headers: dict, repeat: int) -> tuple[list[float], dict | None]:
    import time

    answer = client.get(path, params, **headers)
    assert answer.status_code == 200, (params, answer.status_code, answer.content[:500])
    link = answer.json().get("@odata.nextLink")
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(path, params, **headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200
    following = {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()} if link else None
    return timings, following


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--top", type=int, default=50)
    parser.add_argument("--reuse", action="store_true", help="use an existing database and its rows")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args()

    db = page_bench.database_settings()
    created = page_bench.prepare_database(db, args.reuse, "en-US")
    page_bench.setup_django()

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from portal.api.models import ApiToken
    from provisioning.constants import READERS_GROUP
    from provisioning.defaults import create_job
    from provisioning.models import Application, ProvisioningLog

    settings.API_RATE_LIMIT = "100000/min"  # the benchmark measures the query, not the limit
    try:
        print(f"Database {db['name']} ({'created' if created else 'reused'}); migrating", flush=True)
        call_command("migrate", verbosity=0)
        application = Application.objects.filter(display_name="Dropbox for Business (benchmark)").first()
        if application is None:
            application = Application.objects.create(display_name="Dropbox for Business (benchmark)",
                                                     service_principal_id="bench-service-principal")
            create_job(application)
        if not application.service_principal_id:
            application.service_principal_id = "bench-service-principal"
            application.save(update_fields=["service_principal_id"])
        job = application.job
        have = ProvisioningLog.objects.filter(job=job).count()
        if have != args.rows:
            print(f"Writing {args.rows:,} provisioning log rows", flush=True)
            page_bench.fill(job, args.rows)
            page_bench.vacuum()
        else:
            print(f"Reusing {have:,} rows", flush=True)

        reader = get_user_model().objects.filter(username="bench-reader@example.org").first()
        if reader is None:
            reader = get_user_model().objects.create_user("bench-reader@example.org", "bench-reader@example.org")
            reader.groups.add(Group.objects.get_or_create(name=READERS_GROUP)[0])
        token = ApiToken.issue(reader, name="benchmark", scope="read",
                               expires_at=timezone.now() + timedelta(hours=1))[1]
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        client = Client()
        values = page_bench.sample_values(job)
        path = "/api/v1.0/auditLogs/provisioning"

        print(f"\nGET {path}, {args.rows:,} rows, $top={args.top}, {args.repeat} requests per filter (ms)\n")
        print(f"{'$filter':<38} {'median':>8} {'p95':>8}   {'next page median':>16} {'p95':>8}")
        slowest = 0.0
        for label, expression in filters(values, job.job_id, application.service_principal_id):
            params = {"$top": str(args.top), **({"$filter": expression} if expression else {})}
            timings, following = time_request(client, path, params, headers, args.repeat)
            second = second_p95 = ""
            if following:
                later, _ = time_request(client, path, following, headers, args.repeat)
                second, second_p95 = f"{statistics.median(later):.1f}", f"{page_bench.percentile(later, 0.95):.1f}"
                slowest = max(slowest, page_bench.percentile(later, 0.95))
            slowest = max(slowest, page_bench.percentile(timings, 0.95))
            print(f"{label:<38} {statistics.median(timings):>8.1f} {page_bench.percentile(timings, 0.95):>8.1f}   "
                  f"{second:>16} {second_p95:>8}", flush=True)
        print(f"\nslowest p95: {slowest:.1f} ms (target: under 100 ms)")
    finally:
        if args.drop:
            page_bench.drop_database(db)


if __name__ == "__main__":
    main()
