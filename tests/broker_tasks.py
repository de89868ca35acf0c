"""A task for the broker tests: it records that it ran (a worker started with
``--include tests.broker_tasks`` knows it). Runs are counted in a SQLite file of
the test's own, so a task that runs twice shows twice."""

from __future__ import annotations

import sqlite3
import time

from celery import shared_task


@shared_task(name="tests.record_run", ignore_result=True)
def record_run(path: str, number: int) -> None:
    time.sleep(0.005)  # long enough for a kill to catch some tasks in flight
    with sqlite3.connect(path, timeout=60) as db:
        db.execute("CREATE TABLE IF NOT EXISTS ran (number INTEGER)")
        db.execute("INSERT INTO ran VALUES (?)", (number,))


def send(record_path: str, first: int, count: int) -> None:
    """Send ``count`` tasks numbered from ``first``, as one more process of the portal would
    (to the broker its settings name)."""
    from portal.celery import app

    for number in range(first, first + count):
        app.send_task("tests.record_run", args=[record_path, number])
