"""The "Provisioning logs" page at a million rows, on PostgreSQL.

Creates a scratch database, migrates it, fills ``provisioning_provisioninglog``
with realistic rows for one job (an initial cycle, weekly full cycles and an
incremental cycle every 40 minutes over 29 days: creates, updates, skips,
disables and deletes of some 50,000 users and 1,500 groups, with their steps and
modified properties), then asks the page for each common filter through Django's
test client (session, permission checks and template rendering included) and
prints the median and 95th percentile in milliseconds, then the time each
download takes to stream its first megabyte.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_provisioning_logs .venv/bin/python bench/provisioning_logs.py

Options: ``--reuse`` keeps the database and rows of an earlier run (they are
made only when missing), ``--drop`` drops the database when done, ``--rows N``
sets the size (1,000,000), ``--repeat N`` the requests per filter (15),
``--explain`` prints PostgreSQL's plan of each filter's page query, ``--full``
also times whole downloads of the last 30 days (and the memory they take), and
``--icu-locale`` sets the collation of a new database (en-US: not the "C"
order, in which any btree would answer a LIKE prefix). Without
``--reuse`` the database must not exist yet: the script never fills or drops a
database it did not create unless told to.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

FIRST = (
    "Adele Alex Allan Amber Ana Andre Anita Ben Bianca Brian Carla Carlos Chen Chloe Christie Claire Daniel Debra "
    "Diego Dmitri Elena Emily Enrico Eva Fatima Felix Grady Hana Hans Henrietta Ian Ines Irvin Isaiah Ivan Jakub "
    "Jan Joni Johanna Jorge Julia Kai Karen Kenji Lara Lee Leila Liam Lidia Luca Lynne Maria Marta Megan Miriam "
    "Mohamed Nadia Nestor Nina Noah Olga Omar Oscar Patti Pedro Pradeep Priya Quentin Rachel Raj Rosa Sam Sanjay "
    "Sara Sofia Stefan Tariq Tomas Uma Valentina Victor Wei Wendy Xavier Yara Yusuf Zoe Zainab"
).split()
LAST = (
    "Adams Ahmed Archie Bauer Bowen Brown Castro Chen Costa Diaz Dubois Evans Fernandez Fischer Garcia Gomez Gupta "
    "Hansen Holloway Hughes Ivanova Jansen Johnson Kato Khan Kim Kowalski Langer Larsen Lee Lopez Lorenz Martin "
    "Meyer Miller Moreau Muller Nakamura Nguyen Novak Okafor Olsen Patel Perez Petrov Quinn Rossi Santos Schmidt "
    "Siciliani Silva Singh Smith Suzuki Tanaka Taylor Thomas Torres Vance Walker Wang Weber Wilber Wilke Wilson "
    "Wong Yamamoto Young Zhang Zimmermann"
).split()
DEPARTMENTS = ["Sales", "Marketing", "Finance", "Engineering", "Support", "Legal", "Operations", "Design"]

COLUMNS = [
    "job_id", "activity_time", "cycle_id", "change_id", "initiated_by", "object_type", "action", "status",
    "error_code", "error_reason", "recommendation", "source_id", "source_display_name", "source_upn", "target_id",
    "target_email", "steps", "modified_properties", "duration_ms",
]

FAILURES = [
    ("DropboxLicenseLimit", "The Dropbox team has no licence left for a new member.",
     "Buy more licences in the Dropbox admin console, or remove members who no longer need Dropbox."),
    ("DropboxEmailTaken", "Another Dropbox account already uses this email address.",
     "Ask the owner of that account to join the team, or change the mapping of email."),
    ("DropboxRateLimited", "Dropbox asked to slow down and the retries ran out.",
     "Nothing to do: the next cycle retries the change."),
]
SKIPS = [
    ("NotEffectivelyEntitled", "The user is not assigned to the application.",
     "Assign the user or one of their groups to the application in Users and groups."),
    ("SkipReason.ScopingFilter", "The user does not pass the scoping filter of the mapping.",
     "Review the scoping filters in Mappings if the user should be provisioned."),
]


# ---------------------------------------------------------------------- database
def database_settings() -> dict:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/bench_logs")
    name = parts.path.lstrip("/")
    if not name:
        sys.exit("DATABASE_URL must name the database")
    return {"host": parts.hostname or "127.0.0.1", "port": parts.port or 5432, "user": parts.username or "postgres",
            "password": parts.password, "name": name}


def maintenance(db: dict):
    import psycopg

    return psycopg.connect(host=db["host"], port=db["port"], user=db["user"], password=db["password"],
                           dbname="postgres", autocommit=True)


def prepare_database(db: dict, reuse: bool, icu_locale: str) -> bool:
    """Create the database unless reusing it; True when it was created now.

    With ``icu_locale`` the database sorts text as production databases usually
    do (not in the "C" order, where any btree answers a LIKE prefix), so the
    figures show the Identity filter's ``text_pattern_ops`` indexes at work."""
    from psycopg import sql

    with maintenance(db) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["name"]]).fetchone()
        if exists and not reuse:
            sys.exit(f"Database {db['name']} already exists: pass --reuse to use it, or name another one.")
        if not exists:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["name"]))
            if icu_locale and conn.info.server_version >= 150000:
                statement += sql.SQL(" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE {}").format(
                    sql.Literal(icu_locale))
            conn.execute(statement)
            return True
    return False


def collation(db: dict) -> str:
    with maintenance(db) as conn:
        row = conn.execute("SELECT datcollate, daticulocale FROM pg_database WHERE datname = %s",
                           [db["name"]]).fetchone()
    return f"ICU {row[1]}" if row[1] else row[0]


def drop_database(db: dict) -> None:
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with maintenance(db) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db["name"])))
    print(f"Dropped database {db['name']}.")


def setup_django() -> None:
    for key, value in {
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": "benchmark-only-key-" + "x" * 40,
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "STATIC_MANIFEST": "false",
        "PORTAL_VAR_DIR": os.path.join(ROOT, "var", "bench"),
    }.items():
        os.environ.setdefault(key, value)
    import django

    django.setup()


# ---------------------------------------------------------------------- rows
def generate(job_pk: int, rows: int, rng: random.Random, now: datetime):
    """Rows of one job's cycles, oldest first, as tuples in ``COLUMNS`` order."""
    from psycopg.types.json import Jsonb

    users, groups = 50_000, 1_500
    start = now - timedelta(days=29)
    initial = users + groups
    full_every = timedelta(days=7)
    interval = timedelta(minutes=40)
    incremental_cycles = int((now - start) / interval)
    full_cycles = 4
    per_incremental = max(1, (rows - initial * (1 + full_cycles)) // max(1, incremental_cycles))

    def identity(kind: str, n: int) -> tuple[str, str, str, str, str]:
        if kind == "group":
            name = f"{DEPARTMENTS[n % len(DEPARTMENTS)]} team {n}"
            return (str(uuid.uuid5(uuid.NAMESPACE_OID, f"group{n}")), name, "", f"g:{n:012x}", "")
        first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
        upn = f"{first.lower()}.{last.lower()}{n}@contoso.com"
        return (str(uuid.uuid5(uuid.NAMESPACE_OID, f"user{n}")), f"{first} {last}", upn,
                f"dbmid:AAD{n:010d}", upn)

    def pick_action(kind: str) -> str:
        roll = rng.random()
        table = {
            "initial": [(0.90, "Create"), (1.0, "Skip")],
            "full": [(0.70, "Skip"), (0.90, "Update"), (0.94, "Disable"), (0.95, "Enable"), (0.97, "Delete"),
                     (0.98, "StagedDelete"), (1.0, "Create")],
            "incremental": [(0.60, "Update"), (0.70, "Create"), (0.78, "Disable"), (0.80, "Enable"),
                            (0.84, "Delete"), (0.96, "Skip"), (0.97, "StagedDisable"), (1.0, "Other")],
        }[kind]
        return next(action for bound, action in table if roll < bound)

    def one(kind: str, cycle_id: str, moment: datetime, initiated_by: str, object_type: str, n: int):
        action = pick_action(kind)
        if action in ("Skip", "StagedDelete", "StagedDisable"):
            status = "Skipped"
        else:
            roll = rng.random()
            status = "Success" if roll < 0.93 else ("Failure" if roll < 0.98 else "Warning")
        source_id, display, upn, target_id, email = identity(object_type, n)
        code = reason = advice = ""
        if status == "Failure":
            code, reason, advice = rng.choice(FAILURES)
        elif status == "Skipped":
            code, reason, advice = rng.choice(SKIPS)
        noun = "group" if object_type == "group" else "user"
        steps = [
            {"name": f"Import {noun}", "status": "Success",
             "description": f"Retrieved {upn or display} from Microsoft Entra ID.",
             "details": {"accountEnabled": True} if noun == "user" else {}},
            {"name": f"Determine if {noun} is in scope", "status": "Skipped" if status == "Skipped" else "Success",
             "description": reason if status == "Skipped" else f"The {noun} is assigned to the application.",
             "details": {}},
            {"name": f"Match {noun} between source and target system", "status": "Success",
             "description": "No Dropbox member matches the user." if action == "Create" else
             f"Matched Dropbox member {email or display} by email.",
             "details": {"matchedBy": "email"} if action != "Create" else {}},
            {"name": "Perform action", "status": status,
             "description": f"{action} failed: {reason}" if status == "Failure" else f"{action}: done.",
             "details": {"error_code": code} if status == "Failure" else {}},
        ]
        changes = []
        if action == "Update":
            changes = [{"name": "surname", "old": LAST[(n + 3) % len(LAST)], "new": display.split(" ")[-1]}]
            if rng.random() < 0.3:
                changes.append({"name": "givenName", "old": None, "new": display.split(" ")[0]})
        elif action == "Create":
            changes = [{"name": "email", "old": None, "new": email}, {"name": "externalId", "old": None,
                                                                         "new": source_id}]
        return (job_pk, moment, cycle_id, uuid.UUID(int=rng.getrandbits(128), version=4), initiated_by,
                object_type, action, status, code, reason, advice, source_id, display, upn, target_id, email,
                Jsonb(steps), Jsonb(changes), rng.randrange(20, 1500))

    def cycle(kind: str, begin: datetime, size: int, initiated_by: str = "Microsoft.Azure.SyncFabric"):
        cycle_id = str(uuid.uuid4())
        moment = begin
        for i in range(size):
            if i % 20 == 0:  # the engine stamps each batch of 20 with one time
                moment += timedelta(milliseconds=rng.randrange(200, 1500))
            if kind == "initial":
                object_type, n = ("group", i - users) if i >= users else ("user", i)
            else:
                object_type = "group" if rng.random() < 0.03 else "user"
                n = rng.randrange(groups if object_type == "group" else users)
            yield one(kind, cycle_id, moment, initiated_by, object_type, n)

    made = 0
    for row in cycle("initial", start, initial):
        yield row
    made += initial
    moment = start + interval
    next_full = start + full_every
    while made < rows:
        if moment >= next_full and made + initial <= rows:
            kind, size, who = "full", initial, "alice@contoso.com"
            next_full += full_every
        else:
            kind, who = "incremental", "Microsoft.Azure.SyncFabric"
            size = min(rows - made, max(1, int(per_incremental * rng.uniform(0.3, 1.7))))
        size = min(size, rows - made)
        for row in cycle(kind, moment, size, who):
            yield row
        made += size
        moment += interval
        if moment > now:
            moment = now - timedelta(minutes=rng.randrange(1, 600))


def fill(job, rows: int) -> None:
    """COPY ``rows`` rows into the table, with its secondary indexes dropped
    meanwhile and rebuilt after (far faster than maintaining them row by row)."""
    from django.db import connection

    table = "provisioning_provisioninglog"
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE job_id = %s", [job.pk])
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)", [table, table])
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    raw = connection.connection  # the psycopg connection under Django's
    rng = random.Random(20240501)
    now = datetime.now(UTC)
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for n, row in enumerate(generate(job.pk, rows, rng, now), start=1):
                copy.write_row(row)
                if n % 100_000 == 0:
                    print(f"  {n:>9,} rows written ({time.perf_counter() - started:.0f} s)", flush=True)
    raw.commit() if not raw.autocommit else None
    print(f"  rows copied in {time.perf_counter() - started:.0f} s; rebuilding {len(indexes)} indexes", flush=True)
    with connection.cursor() as cursor:
        for name, definition in indexes:
            cursor.execute(definition)
    print(f"  indexes rebuilt after {time.perf_counter() - started:.0f} s", flush=True)


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE provisioning_provisioninglog")


# ---------------------------------------------------------------------- measures
def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def sample_values(job) -> dict:
    from provisioning.logs import Cursor
    from provisioning.models import ProvisioningLog

    logs = ProvisioningLog.objects.filter(job=job)
    middle = logs.filter(activity_time__lt=datetime.now(UTC) - timedelta(days=3)).order_by("-activity_time").first()
    user = logs.filter(object_type="user", action="Update").order_by("-activity_time").first()
    full = logs.exclude(initiated_by="Microsoft.Azure.SyncFabric").order_by("-activity_time").first()
    deep = logs.order_by("-activity_time", "-id")[logs.count() // 2]  # OFFSET here only, to pick a row
    return {
        "deep_cursor": Cursor.of(deep).encode(),
        "full_cycle_id": str(full.cycle_id),
        "cycle_id": str(middle.cycle_id),
        "change_id": str(middle.change_id),
        "source_id": user.source_id,
        "target_id": user.target_id,
        "upn_prefix": user.source_upn.split("@")[0][:-1],
        "full_name": user.source_display_name.lower(),
        "first_name": user.source_display_name.split(" ")[0],
    }


def filters(values: dict) -> list[tuple[str, dict]]:
    today = datetime.now(UTC).date()
    custom = {"date": "custom", "start": (today - timedelta(days=12)).isoformat(),
              "end": (today - timedelta(days=11)).isoformat()}
    return [
        ("no filter (last 7 days)", {}),
        ("last 30 days", {"date": "30d"}),
        ("last 24 hours", {"date": "24h"}),
        ("status = Failure", {"status": "Failure"}),
        ("status = Success", {"status": "Success"}),
        ("action = Disable", {"action": "Disable"}),
        ("action = StagedDelete (30 d)", {"action": "StagedDelete", "date": "30d"}),
        ("object type = groups", {"object_type": "group"}),
        ("identity: first name prefix", {"identity": values["first_name"]}),
        ("identity: full name", {"identity": values["full_name"]}),
        ("identity: UPN prefix", {"identity": values["upn_prefix"]}),
        ("identity: one letter (30 d)", {"identity": "m", "date": "30d"}),
        ("identity: source id", {"identity": values["source_id"]}),
        ("identity: target id", {"identity": values["target_id"]}),
        ("identity: no match (30 d)", {"identity": "zzzz-nobody", "date": "30d"}),
        ("identity: two letters (30 d)", {"identity": values["first_name"][:2], "date": "30d"}),
        ("identity: group name prefix (30 d)", {"identity": "sales team", "date": "30d"}),
        ("cycle id (30 d)", {"cycle_id": values["cycle_id"], "date": "30d"}),
        ("cycle id of a full cycle (30 d)", {"cycle_id": values["full_cycle_id"], "date": "30d"}),
        ("change id (30 d)", {"change_id": values["change_id"], "date": "30d"}),
        ("custom date range (1 day, 11 days ago)", custom),
        ("status + action", {"status": "Failure", "action": "Update"}),
        ("status + action, rare (30 d)", {"status": "Warning", "action": "Enable", "date": "30d"}),
        ("status + action, none match (30 d)", {"status": "Skipped", "action": "Create", "date": "30d"}),
        ("groups + status + action, none (30 d)",
         {"object_type": "group", "status": "Failure", "action": "Skip", "date": "30d"}),
        ("full cycle + status + action (30 d)",
         {"cycle_id": values["full_cycle_id"], "status": "Warning", "action": "Delete", "date": "30d"}),
        ("status + object type (30 d)", {"status": "Skipped", "object_type": "group", "date": "30d"}),
        ("identity + status (30 d)", {"identity": values["first_name"], "status": "Failure", "date": "30d"}),
        ("cycle id + status (30 d)", {"cycle_id": values["cycle_id"], "status": "Skipped", "date": "30d"}),
        ("custom range + action", {**custom, "action": "Create"}),
        ("action + identity + object type (30 d)",
         {"action": "Update", "identity": values["first_name"], "object_type": "user", "date": "30d"}),
        ("a page half way down (30 d)", {"date": "30d", "after": values["deep_cursor"]}),
    ]


def time_page(client, url: str, repeat: int) -> tuple[list[float], str]:
    """Milliseconds of each request (after one warm-up), and the next-page link."""
    import re

    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.content[:2000])
    found = re.search(r'id="next-page" href="\?([^"]+)"', response.content.decode())
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return timings, (found.group(1).replace("&amp;", "&") if found else "")


def explain(job, query: dict) -> str:
    from django.db import connection
    from django.http import QueryDict

    from portal.log_filters import ProvisioningLogFilterForm
    from provisioning.logs import PAGE_SIZE, filter_logs

    form = ProvisioningLogFilterForm(QueryDict(urlencode(query)))
    assert form.is_valid(), form.errors
    sql, params = filter_logs(job, form.log_query())[: PAGE_SIZE + 1].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def first_megabyte(client, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200 and response.streaming
    size = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        if size >= 1 << 20:
            break
    elapsed = (time.perf_counter() - started) * 1000
    response.close()
    return elapsed, size


def whole_download(client, url: str) -> tuple[float, int, float]:
    """Milliseconds and bytes of a whole download, and how much the process's
    peak memory grew meanwhile (MB): streaming keeps it to a few chunks."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.get(url)
    size = sum(len(chunk) for chunk in response.streaming_content)
    elapsed = (time.perf_counter() - started) * 1000
    response.close()
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return elapsed, size, grown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--reuse", action="store_true", help="use an existing database and its rows")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--explain", action="store_true", help="print the plan of each filter's page query")
    parser.add_argument("--full", action="store_true", help="also time whole downloads of the last 30 days")
    parser.add_argument("--icu-locale", default="en-US",
                        help="collation of a new database (PostgreSQL 15+; empty: the server's default)")
    args = parser.parse_args()

    db = database_settings()
    created = prepare_database(db, args.reuse, args.icu_locale)
    setup_django()

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from provisioning.constants import READERS_GROUP
    from provisioning.defaults import create_job
    from provisioning.models import Application, ProvisioningLog

    try:
        print(f"Database {db['name']} ({'created' if created else 'reused'}, collation {collation(db)}); "
              "migrating", flush=True)
        call_command("migrate", verbosity=0)
        application = Application.objects.filter(display_name="Dropbox for Business (benchmark)").first()
        if application is None:
            application = Application.objects.create(display_name="Dropbox for Business (benchmark)")
            create_job(application)
        job = application.job
        have = ProvisioningLog.objects.filter(job=job).count()
        if have != args.rows:
            print(f"Writing {args.rows:,} provisioning log rows", flush=True)
            fill(job, args.rows)
            vacuum()
        else:
            print(f"Reusing {have:,} rows", flush=True)

        reader = get_user_model().objects.filter(username="bench-reader@example.org").first()
        if reader is None:
            reader = get_user_model().objects.create_user("bench-reader@example.org", "bench-reader@example.org")
            reader.groups.add(Group.objects.get_or_create(name=READERS_GROUP)[0])
        client = Client()
        client.force_login(reader)
        base = reverse("portal:provisioning_logs", args=[application.pk])
        values = sample_values(job)

        print(f"\nProvisioning logs page, {args.rows:,} rows, {args.repeat} requests per filter (ms)\n")
        print(f"{'filter':<42} {'median':>8} {'p95':>8}   {'page 2 median':>13} {'p95':>8}")
        slowest = 0.0
        for label, query in filters(values):
            url = base + ("?" + urlencode(query) if query else "")
            timings, next_query = time_page(client, url, args.repeat)
            second = second_p95 = ""
            if next_query:
                later, _ = time_page(client, base + "?" + next_query, args.repeat)
                second, second_p95 = f"{statistics.median(later):.1f}", f"{percentile(later, 0.95):.1f}"
                slowest = max(slowest, percentile(later, 0.95))
            slowest = max(slowest, percentile(timings, 0.95))
            print(f"{label:<42} {statistics.median(timings):>8.1f} {percentile(timings, 0.95):>8.1f}   "
                  f"{second:>13} {second_p95:>8}", flush=True)
            if args.explain:
                print(explain(job, query) + "\n")
        print(f"\nslowest p95: {slowest:.1f} ms")

        download = reverse("portal:provisioning_logs_download", args=[application.pk])
        print("\nDownloads, last 30 days: time to stream the first megabyte (ms)\n")
        for fmt in ("json", "csv"):
            elapsed, size = first_megabyte(client, f"{download}?{urlencode({'date': '30d', 'format': fmt})}")
            print(f"{fmt:<6} {elapsed:>8.1f}  ({size:,} bytes read)")
        if args.full:
            print("\nWhole downloads, last 30 days\n")
            for fmt in ("json", "csv"):
                elapsed, size, grown = whole_download(client, f"{download}?{urlencode({'date': '30d', 'format': fmt})}")
                print(f"{fmt:<6} {elapsed / 1000:>7.1f} s  {size / 1e6:>8.1f} MB  peak memory grew {grown:.0f} MB")
    finally:
        if args.drop:
            drop_database(db)


if __name__ == "__main__":
    main()
