"""Benchmark: what log streaming costs an initial cycle. The same initial cycle (bench/cycles.py's:
100,000 users in 1,000 assigned groups, 30 ms latency, PostgreSQL) runs three ways: without any
destination; with an HTTPS webhook destination enabled (the cycle writes its outbox entries; they are
delivered to a local HTTPS receiver after it: the outbox's own cost, and the delivery's throughput);
and with that destination delivered while the cycle runs (what a delivery beside the cycle, on the
same machine and database, adds). Each run has a fresh tenant and database.

    .venv/bin/python bench/streaming.py                   # 100,000 users, one run of each
    .venv/bin/python bench/streaming.py --users 20000 --runs 3

It prints, for each run, the cycle's wall time and CPU, the outbox entries written and how long the
delivery took after the cycle, then the slowdown of the median cycle with streaming.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import http.server
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cycles import child
from bench.tenant import bench_tenant

#: no destination; a webhook destination delivered after the cycle (the outbox's own cost); one
#: delivered while the cycle runs (what a worker that also delivers adds)
VARIANTS = ("without", "outbox", "delivering")


class CountingReceiver:
    """An HTTPS endpoint that answers 200 and counts the JSON lines it was posted."""

    def __init__(self, certificates):
        self.lines = 0
        self.lock = threading.Lock()
        receiver = self
        context = certificates.server_context()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps the connection open between requests, as a SIEM does

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.lines += body.count(b"\n")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                sock, address = self.socket.accept()
                return context.wrap_socket(sock, server_side=True), address

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}/ingest"


def delivery_loop(destination_id: int, stop: threading.Event) -> None:
    """What a streaming worker does: deliver, and look again shortly when there was nothing."""
    from django.db import connection

    from provisioning.streaming.delivery import deliver

    try:
        while not stop.is_set():
            if not deliver(destination_id, budget_seconds=5):
                time.sleep(0.5)
    finally:
        connection.close()


def one_run(args) -> dict:
    """One initial cycle on a fresh tenant, as the variant says: its figures."""
    with bench_tenant(args.database_url, args.users, latency_ms=args.latency_ms,
                      dropbox_args=("--async-job-seconds", "0.2")) as tenant:
        from django.db import connection

        from provisioning.constants import StreamKind
        from provisioning.models import ProvisioningLog, StreamDestination, StreamEntry, SyncCycle
        from tests.streaming.receivers import make_certificates

        stop, loop, receiver, destination = threading.Event(), None, None, None
        if args.one != "without":
            certificates = make_certificates(Path(tempfile.mkdtemp(prefix="bench-streaming-")))
            receiver = CountingReceiver(certificates)
            destination = StreamDestination.objects.create(
                name="Bench webhook", kind=StreamKind.WEBHOOK, url=receiver.url, ca_file=str(certificates.ca_file),
                token="bench-token")
        if args.one == "delivering":
            loop = threading.Thread(target=delivery_loop, args=(destination.pk, stop), daemon=True)
            loop.start()
        seconds, peak_mb, cpu, _ = child(tenant.env, "provision", "--workers", str(args.workers))
        cycle = SyncCycle.objects.order_by("-started_at").first()
        figures = {"variant": args.one, "wall": seconds, "cycle": cycle.duration.total_seconds(), "cpu": cpu,
                   "peak_mb": peak_mb, "rows": ProvisioningLog.objects.count(), "status": cycle.status}
        if destination is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT last_value FROM provisioning_streamentry_id_seq")
                figures["entries_written"] = cursor.fetchone()[0]
            if loop is None:
                loop = threading.Thread(target=delivery_loop, args=(destination.pk, stop), daemon=True)
                loop.start()
            started = time.perf_counter()
            while StreamEntry.objects.exists():
                time.sleep(0.2)
            figures.update(catch_up=time.perf_counter() - started, delivered=receiver.lines)
            stop.set()
            loop.join()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=30)
    parser.add_argument("--workers", type=int, default=32, help="most Dropbox writes in flight")
    parser.add_argument("--runs", type=int, default=1, help="runs of each variant, alternating")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_streaming")
    parser.add_argument("--one", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args)))
        return

    print(f"Initial cycle: {args.users:,} users in {args.users // 100:,} groups, {args.latency_ms:.0f} ms latency, "
          f"PostgreSQL, {args.workers} writes in flight; without log streaming, with a webhook destination "
          f"delivered to a local HTTPS receiver after the cycle, and with it delivered while the cycle runs")
    results: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
    for run in range(args.runs):
        for variant in VARIANTS:
            done = subprocess.run([sys.executable, __file__, "--one", variant, "--users", str(args.users),
                                   "--latency-ms", str(args.latency_ms), "--workers", str(args.workers),
                                   "--database-url", args.database_url], capture_output=True, text=True, cwd=ROOT,
                                  check=False)
            if done.returncode:
                raise SystemExit(f"the {variant} run failed:\n{done.stdout}\n{done.stderr}")
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            results[variant].append(figures)
            line = (f"  run {run + 1} {variant:<10} cycle {figures['cycle']:6.1f} s (process {figures['wall']:6.1f} s, "
                    f"CPU {figures['cpu']:5.1f} s, {figures['peak_mb']:.0f} MB), {figures['rows']:,} log rows, "
                    f"{figures['status']}")
            if variant != "without":
                line += (f"; {figures['entries_written']:,} outbox entries, {figures['delivered']:,} rows delivered, "
                         f"all delivered {figures['catch_up']:.1f} s after the cycle")
            print(line, flush=True)
    base = statistics.median(r["wall"] for r in results["without"])
    base_cpu = statistics.median(r["cpu"] for r in results["without"])
    for variant, label in (("outbox", "a webhook destination (outbox written; delivered after the cycle)"),
                           ("delivering", "a webhook destination delivered while the cycle runs")):
        wall = statistics.median(r["wall"] for r in results[variant])
        cpu = statistics.median(r["cpu"] for r in results[variant])
        print(f"  with {label}: cycle process {wall:.1f} s vs {base:.1f} s without, {(wall - base) / base:+.1%} "
              f"(limit +10%); its CPU {cpu:.1f} s vs {base_cpu:.1f} s ({(cpu - base_cpu) / base_cpu:+.1%})")


if __name__ == "__main__":
    main()
