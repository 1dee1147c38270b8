#!/usr/bin/env python3
"""Benchmark the converted fixtures on Directord against ansible-playbook. A script, not a test.

    sudo python bench/bench_fixtures.py [--json FILE] [PLAYBOOK...]

Every fixture under fixtures/playbooks (or the playbooks given) runs both ways, as
`tripleo-migrate verify` runs it (migrator/verify): ansible-playbook -c local, and the
conversion on one real Directord server and client on 127.0.0.1 (started once, caches
evicted before each fixture). Printed per fixture and in total:

  ansible    wall time of ansible-playbook
  directord  the server's own span of the orchestration (first job created to last
             job's last update): the engine's time
  cli        wall time of `directord orchestrate --wait`, which also counts the CLI's
             status polling (it sleeps 0.25 to 1 s between looks at each job)

Target: ansible / directord >= 3 over all fixtures. Exit 0 met, 1 not met or a fixture
was not equivalent (the bench only counts runs that verify), 2 setup failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_SPEEDUP = 3.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("playbooks", nargs="*", type=Path)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_fixtures: needs root (Directord's server)", file=sys.stderr)
        return 2
    from migrator.verify import verify_playbook
    from migrator.verify.cluster import DirectordCluster

    playbooks = args.playbooks or sorted((REPO / "fixtures" / "playbooks").glob("*.yml"))
    rows, failed = [], []
    with tempfile.TemporaryDirectory(prefix="tm-bench-fixtures-") as tmp:
        with DirectordCluster(Path(tmp) / "cluster") as cluster:
            for index, playbook in enumerate(playbooks):
                cluster.evict_caches()
                outcome = verify_playbook(playbook, Path(tmp) / f"run-{index}", cluster)
                if not outcome.ok:
                    failed.append(playbook.name)
                    print(outcome.summary(), file=sys.stderr)
                    continue
                rows.append({"fixture": playbook.name, "ansible_s": outcome.ansible_seconds,
                             "directord_s": outcome.directord.server_seconds,
                             "cli_s": outcome.directord_seconds})
    if not rows:
        print("bench_fixtures: no fixture verified", file=sys.stderr)
        return 1
    print(f"{'fixture':32} {'ansible':>9} {'directord':>10} {'cli':>8} {'speed-up':>9}")
    for row in rows:
        print(f"{row['fixture']:32} {row['ansible_s']:8.2f}s {row['directord_s']:9.2f}s {row['cli_s']:7.2f}s "
              f"{row['ansible_s'] / row['directord_s']:8.1f}x")
    total = {key: sum(row[key] for row in rows) for key in ("ansible_s", "directord_s", "cli_s")}
    speedup = total["ansible_s"] / total["directord_s"]
    cli_speedup = total["ansible_s"] / total["cli_s"]
    print(f"{'all ' + str(len(rows)) + ' fixtures':32} {total['ansible_s']:8.2f}s {total['directord_s']:9.2f}s "
          f"{total['cli_s']:7.2f}s {speedup:8.1f}x")
    met = speedup >= TARGET_SPEEDUP and not failed
    print(f"\ntarget: ansible / directord >= {TARGET_SPEEDUP}: {speedup:.2f} {'PASS' if met else 'FAIL'}"
          f" (with the CLI's polling: {cli_speedup:.2f})")
    if failed:
        print(f"not equivalent, left out: {', '.join(failed)}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "total": total, "speedup": speedup,
                                         "cli_speedup": cli_speedup, "failed": failed}, indent=2) + "\n")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
