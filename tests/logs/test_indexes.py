"""On PostgreSQL the Identity filter is answered from indexes: a prefix of the
display name, UPN or email through ``UPPER(column) text_pattern_ops`` indexes,
whatever the database collation. (SQLite has no such indexes and needs none.)"""

from __future__ import annotations

import pytest
from django.db import connection

from provisioning.logs import LogQuery, filter_logs

from tests.conftest import require

from .factory import make_logs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgresql():
    # On a laptop the suite may run on SQLite; CI always runs it on PostgreSQL, where this must not skip.
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")

PREFIX_INDEXES = ["log_job_email_prefix", "log_job_name_prefix", "log_job_upn_prefix"]


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_prefix_indexes_are_upper_case_pattern_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s) ORDER BY indexname",
                       [PREFIX_INDEXES])
        found = dict(cursor.fetchall())
    assert sorted(found) == PREFIX_INDEXES
    for definition in found.values():
        assert "upper(" in definition and "text_pattern_ops" in definition


def test_the_identity_filter_reads_every_branch_from_an_index(job):
    make_logs(job, 2000)
    make_logs(job, 1, source_display_name="Zoe Quinn", source_upn="zoe.quinn@contoso.com")
    with connection.cursor() as cursor:
        # The planner sees that a prefix is rare from the statistics of the indexed expressions.
        cursor.execute("ANALYZE provisioning_provisioninglog")
    explained = plan(filter_logs(job, LogQuery(identity="zoe q"))[:51])
    for name in [*PREFIX_INDEXES, "log_job_source", "log_job_target"]:
        assert name in explained, explained
    assert "Seq Scan" not in explained
