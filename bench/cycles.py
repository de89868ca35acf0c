"""Benchmark: the initial cycle for a large tenant and an incremental cycle of
100 changes, against both emulators with injected latency, on PostgreSQL.

    .venv/bin/python bench/cycles.py                       # 100,000 users, 1,000 groups, 30 ms latency
    .venv/bin/python bench/cycles.py --users 20000         # a quicker run
    .venv/bin/python bench/cycles.py --database-url postgres://postgres@127.0.0.1:5432/bench_cycles
    .venv/bin/python bench/cycles.py --users 20000 --profile /tmp/cycle.txt   # with py-spy's samples
    .venv/bin/python bench/cycles.py --users 100000,250000 --changes 100,10000   # growth, and a big incremental

It creates a scratch PostgreSQL database (dropped at the end),
starts the Graph emulator with ``--seed synthetic:N`` (N users in groups of 100,
every group assigned to Dropbox for Business) and the Dropbox emulator with an
empty team, authorizes through the emulator's OAuth pages, and runs
``manage.py provision`` in a child process, as a worker would run the cycle,
measuring its wall time and peak memory. It prints the figures, and for
comparison Microsoft's published estimate of 0.01 to 0.08 minutes per user,
group and membership for an initial cycle.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tenant import bench_tenant  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores, every process) since it started."""
    fields = [int(n) for n in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def child(env: dict, *args: str, profile: str = "") -> tuple[float, float, float, str]:
    """Run manage.py in a child process: (seconds, peak RSS in MB, CPU seconds, output). With
    ``profile`` (a file name), py-spy samples it and writes the top functions there."""
    command = [sys.executable, "manage.py", *args]
    if profile:
        # py-spy (pip install py-spy) samples every thread; --gil counts only the thread holding the GIL
        command = ["py-spy", "record", "--format", "raw", "--output", profile, "--rate", "100",
                   *os.environ.get("BENCH_PYSPY", "--gil").split(), "--", *command]
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return seconds, max(after.ru_maxrss, before.ru_maxrss) / 1024, cpu, done.stdout


def top_of_profile(path: str, count: int = 15) -> list[tuple[float, str]]:
    """Where the sampled time went: for each sample, the innermost frame of the project's own code (or the
    innermost frame, where none is), as shares of all samples."""
    own: dict[str, int] = {}
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        total += int(samples)
        frames = stack.split(";")
        mine = [f for f in frames if "provisioning/" in f or "portal/" in f]
        key = mine[-1] if mine else frames[-1]
        own[key] = own.get(key, 0) + int(samples)
    ranked = sorted(own.items(), key=lambda kv: -kv[1])
    return [(n / total, frame) for frame, n in ranked[:count]] if total else []


def last_cycle() -> tuple[float, int]:
    """Seconds and Dropbox calls of the last cycle, as the portal recorded them."""
    from provisioning.models import SyncCycle

    cycle = SyncCycle.objects.order_by("-started_at").first()
    return cycle.duration.total_seconds(), cycle.target_calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="100000",
                        help="users of the tenant; several, comma-separated, run one after the other and compare")
    parser.add_argument("--latency-ms", type=float, default=30)
    parser.add_argument("--changes", default="100",
                        help="users changed before each incremental cycle; several, comma-separated")
    parser.add_argument("--workers", type=int, default=32, help="most Dropbox writes in flight")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_cycles")
    parser.add_argument("--profile", default="", metavar="FILE",
                        help="sample the initial cycle with py-spy into FILE and print its top functions")
    args = parser.parse_args()
    sizes = [int(n) for n in str(args.users).split(",")]
    changes = [int(n) for n in str(args.changes).split(",")]
    results = [run(args, users, changes) for users in sizes]
    print("\nInitial cycles (targets at 100,000 users: wall under 60 s, wall / floor at most 3, under 400 MB)")
    for result in results:
        print(f"  {result['users']:>9,} users: wall {result['seconds']:6.1f} s, wall / floor "
              f"{result['seconds'] / result['floor']:.2f}, peak memory {result['peak_mb']:.0f} MB")
    if len(results) > 1:
        base = results[0]
        print(f"\nGrowth from {base['users']:,} users")
        for result in results[1:]:
            factor = result["users"] / base["users"]
            print(f"  {result['users']:,} users ({factor:.1f}x): wall {result['seconds'] / base['seconds']:.2f}x "
                  f"(linear: {factor:.1f}x), peak memory {result['peak_mb'] / base['peak_mb']:.2f}x")


def run(args, users: int, changes: list[int]) -> dict:
    profile = f"{args.profile}.{users}" if args.profile else ""
    with bench_tenant(args.database_url, users, latency_ms=args.latency_ms,
                      dropbox_args=("--async-job-seconds", "0.2")) as tenant:
        graph, dropbox, env = tenant.graph, tenant.dropbox, tenant.env
        print(f"Initial cycle: {users:,} users in {users // 100:,} groups (all assigned), "
              f"{args.latency_ms:.0f} ms latency on every call, PostgreSQL, {args.workers} writes in flight")
        graph_cpu, dropbox_cpu = cpu_seconds(graph.proc.pid), cpu_seconds(dropbox.proc.pid)
        dropbox.reset_stats()
        busy = machine_busy_seconds()
        seconds, peak_mb, cpu, output = child(env, "provision", "--workers", str(args.workers), profile=profile)
        busy = machine_busy_seconds() - busy
        graph_cpu, dropbox_cpu = cpu_seconds(graph.proc.pid) - graph_cpu, cpu_seconds(dropbox.proc.pid) - dropbox_cpu
        print(output.rstrip())
        cycle_seconds, _ = last_cycle()
        calls = sum(n for route, n in dropbox.stats()["requests"].items() if route.startswith("POST /2/"))
        floor = calls * args.latency_ms / 1000 / args.workers
        objects = users + users // 100 + users
        per_k = 1000 / users
        print(f"  wall time        {seconds:.1f} s ({seconds / 60:.2f} min), of which the cycle {cycle_seconds:.1f} s")
        print(f"  Dropbox calls    {calls:,}; call floor (calls x latency / writes in flight) {floor:.1f} s; "
              f"wall / floor {seconds / floor:.2f}, cycle / floor {cycle_seconds / floor:.2f}")
        print(f"  CPU              cycle's process {cpu:.1f} s ({cpu * per_k:.2f} s per 1,000 users); Graph emulator "
              f"{graph_cpu:.1f} s ({graph_cpu * per_k:.2f}), Dropbox emulator {dropbox_cpu:.1f} s "
              f"({dropbox_cpu * per_k:.2f})")
        others = max(0.0, busy - cpu - graph_cpu - dropbox_cpu)
        print(f"  machine          {busy:.1f} CPU seconds busy in all (of {seconds * os.cpu_count():.0f} on "
              f"{os.cpu_count()} cores), of which {others:.1f} s in other processes (PostgreSQL above all)")
        print(f"  peak memory      {peak_mb:.0f} MB (the cycle's process)")
        for route, n in sorted(dropbox.stats()["requests"].items(), key=lambda kv: -kv[1]):
            if route.startswith("POST /2/") and n >= users // 1000:
                print(f"    {route:<50} {n:,}")
        if profile:
            print(f"  profile          {profile} (py-spy raw); most often on the stack:")
            for share, frame in top_of_profile(profile):
                print(f"    {share:6.1%}  {frame[:110]}")
        print(f"  Microsoft's estimate for {objects:,} users, groups and memberships at 0.01-0.08 min each: "
              f"{objects * 0.01:,.0f} to {objects * 0.08:,.0f} minutes "
              f"({objects * 0.01 / 60:,.1f} to {objects * 0.08 / 60:,.1f} hours)")
        result = {"users": users, "seconds": seconds, "peak_mb": peak_mb, "floor": floor}
        for count in changes:
            incremental(args, env, graph, dropbox, count, profile)
        return result


def incremental(args, env, graph, dropbox, count: int, profile: str) -> None:
    change_users(graph, count)
    dropbox.reset_stats()
    seconds, _, cpu, output = child(env, "provision", "--workers", str(args.workers),
                                    profile=f"{profile}.incremental{count}" if profile else "")
    cycle_seconds, _ = last_cycle()
    calls = dropbox.stats()["requests"]
    dropbox_calls = sum(n for route, n in calls.items() if route.startswith("POST /2/"))
    print(f"\nIncremental cycle: {count:,} users changed in Entra ID")
    print(output.rstrip())
    print(f"  wall time        {seconds:.2f} s (the process), of which the cycle {cycle_seconds:.2f} s")
    print(f"  CPU              {cpu:.1f} s (the process)")
    print(f"  Dropbox calls    {dropbox_calls} ({dropbox_calls / count:.2f} per change)")
    for route, n in sorted(calls.items()):
        if route.startswith("POST /2/"):
            print(f"    {route:<50} {n}")
    if profile:
        print(f"  profile          {profile}.incremental{count} (py-spy raw); most often on the stack:")
        for share, frame in top_of_profile(f"{profile}.incremental{count}"):
            print(f"    {share:6.1%}  {frame[:110]}")


def change_users(graph, count: int) -> None:
    """Change the given name of ``count`` provisioned users in Entra ID, 20 per ``$batch`` as a
    directory tool would, several batches at once (the latency would make one at a time slow)."""
    from concurrent.futures import ThreadPoolExecutor

    from provisioning.connectors.entra import EntraConnector
    from provisioning.models import ObjectLink

    connector = EntraConnector.from_settings()
    links = list(ObjectLink.objects.filter(object_type="user").order_by("id").values_list("pk", "source_id")[:count])
    if count > len(links):
        raise SystemExit(f"only {len(links)} users are provisioned: cannot change {count}")
    stamp = time.time_ns() % 1_000_000

    def send(batch) -> None:
        requests = [{"id": str(n), "method": "PATCH", "url": f"/users/{source_id}",
                     "headers": {"Content-Type": "application/json"}, "body": {"givenName": f"Changed{pk}x{stamp}"}}
                    for n, (pk, source_id) in enumerate(batch)]
        answer = connector.request("POST", "$batch", json={"requests": requests}).json()
        failed = [r for r in answer["responses"] if r["status"] >= 300]
        if failed:
            raise SystemExit(f"{len(failed)} changes were refused: {failed[0]}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, [links[i:i + 20] for i in range(0, len(links), 20)]))


if __name__ == "__main__":
    main()
