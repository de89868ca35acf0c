"""Benchmark: account discovery of a large Dropbox team against a large tenant,
both emulators with injected latency, on PostgreSQL.

    .venv/bin/python bench/discovery.py                    # 100,000 members, 100,000 users, 30 ms latency
    .venv/bin/python bench/discovery.py --users 20000      # a quicker run

It sets up the tenant, the team and the application as bench/cycles.py does, fills
the team with an initial cycle (not measured), changes it by hand as admins do
(drift on some members, orphans added straight to Dropbox), then runs
``manage.py provision --discover`` in a child process and prints its wall time,
peak memory and counts. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cycles import child  # noqa: E402
from bench.tenant import bench_tenant  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=30)
    parser.add_argument("--drifted", type=int, default=500, help="members renamed by hand in Dropbox")
    parser.add_argument("--orphans", type=int, default=500, help="members added by hand in Dropbox")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_discovery")
    args = parser.parse_args()

    with bench_tenant(args.database_url, args.users, latency_ms=0, dropbox_args=("--async-job-seconds", "0")) \
            as tenant:
        graph, dropbox, env = tenant.graph, tenant.dropbox, tenant.env
        print(f"Filling the team: an initial cycle of {args.users:,} users (not measured, no latency)")
        child(env, "provision", "--workers", "32")
        by_hand(dropbox, tenant.admin_token, args.drifted, args.orphans)
        graph.configure(latency_ms=args.latency_ms)
        dropbox.configure(latency_ms=args.latency_ms)
        print(f"Account discovery: {args.users:,} members against {args.users:,} users, "
              f"{args.latency_ms:.0f} ms latency on every call, PostgreSQL")
        seconds, peak_mb, cpu, output = child(env, "provision", "--discover")
        print(output.rstrip())
        print(f"  wall time        {seconds:.1f} s (the process, with Django's start)")
        print(f"  CPU              {cpu:.1f} s")
        print(f"  peak memory      {peak_mb:.0f} MB (the discovery's process)")


def by_hand(dropbox, admin_token: str, drifted: int, orphans: int) -> None:
    """Rename some members and add others straight in Dropbox, as an admin would."""
    import dropbox as sdk
    from dropbox import team

    from provisioning.connectors.routing import build_routes, routed_session

    client = sdk.DropboxTeam(oauth2_access_token=admin_token, session=routed_session(
        build_routes(dropbox_api_url=dropbox.url, dropbox_web_url=dropbox.url)))
    emails = [m["email"] for m in dropbox.state()["members"][1:drifted + 1]]
    for email in emails:
        client.team_members_set_profile_v2(team.UserSelectorArg.email(email), new_given_name="ByHand")
    for start in range(0, orphans, 20):
        client.team_members_add_v2([team.MemberAddV2Arg(f"orphan.{n}@contoso.com", "Or", "Phan")
                                    for n in range(start, min(start + 20, orphans))])


if __name__ == "__main__":
    main()
