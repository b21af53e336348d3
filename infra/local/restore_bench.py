"""Restore tests at scale: every present store of a tier (default: critical) on the bench estate,
restore-tested with the CLI, after assign-policy has protected it and its plans have run.

    python infra/local/restore_bench.py --bulwark PATH [--tier critical] [--concurrency 4] [--json]

Prints how many stores were tested and passed, the wall time, and the AWS calls per tested
store in all and by operation (the CLI's own count of the calls it made). Exits non-zero when a
test failed or anything restored was left behind.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulwark", required=True)
    parser.add_argument("--tier", default="critical")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    run = subprocess.run(
        [args.bulwark, "restore-test", "--tier", args.tier, "--concurrency", str(args.concurrency), "--format", "json"],
        capture_output=True, text=True,
    )
    wall = time.monotonic() - started
    if not run.stdout.strip():
        print(run.stderr, file=sys.stderr)
        return 1
    answer = json.loads(run.stdout)
    tests = answer["tests"]
    calls = answer["calls"]
    tested = len(tests)
    total = sum(calls.values())
    failed = [t for t in tests if not t["passed"]]
    left = [t["arn"] for t in tests if not t["cleaned_up"]]
    kinds: dict[str, int] = {}
    for t in tests:
        kind = t["arn"].split(":")[2]
        kinds[kind] = kinds.get(kind, 0) + 1
    figures = {
        "tier": args.tier,
        "tested": tested,
        "passed": tested - len(failed),
        "by_service": kinds,
        "concurrency": args.concurrency,
        "wall_seconds": round(wall, 1),
        "calls": total,
        "calls_per_tested_store": round(total / tested, 1) if tested else None,
        "calls_per_store_by_operation": {op: round(n / tested, 2) for op, n in sorted(calls.items())} if tested else {},
        "failed": sorted({(t["error"] or "a validator failed") for t in failed}),
        "left_behind": left,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"tier {args.tier}: {tested} stores restore-tested ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}), "
              f"{figures['passed']} passed, {args.concurrency} at once")
        print(f"wall time {figures['wall_seconds']} s; {total} AWS calls, {figures['calls_per_tested_store']} per tested store")
        for op, n in figures["calls_per_store_by_operation"].items():
            print(f"  {op:<48} {n:>6} per store")
        for reason in figures["failed"]:
            print(f"failed: {reason}")
        print(f"left behind: {len(left)}")
    return 1 if failed or left else 0


if __name__ == "__main__":
    sys.exit(main())
