"""`make demo`'s restore tests: one store of each kind, under a tier, restore-tested with the CLI.

    python infra/local/demo_restore_tests.py --bulwark target/debug/bulwark

Picks, for each kind, the first present store under a tier, a critical one if there is one (from `bulwark inventory
--format json`), runs `bulwark restore-test --arn <arn>` for it (the CLI prints the test), then
`bulwark restore-tests` (the history). A failed test is shown, not fatal: the demo goes on.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

KINDS = ["s3", "dynamodb", "rds", "aurora", "efs", "ebs"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulwark", required=True, help="the CLI binary")
    args = parser.parse_args()
    rows = json.loads(subprocess.run([args.bulwark, "inventory", "--format", "json"], check=True, capture_output=True, text=True).stdout)
    picked: dict[str, str] = {}
    # Critical stores first: their tier's RTO needs a measured restore.
    rows.sort(key=lambda row: row.get("tier") != "critical")
    for row in rows:
        if row.get("tier") and row.get("state") == "present":
            picked.setdefault(row["kind"], row["arn"])
    passed = 0
    for kind in KINDS:
        arn = picked.get(kind)
        if arn is None:
            print(f"-- {kind}: no store under a tier")
            continue
        print(f"-- {kind}: bulwark restore-test --arn {arn}", flush=True)
        run = subprocess.run([args.bulwark, "restore-test", "--arn", arn])
        passed += run.returncode == 0
        print(flush=True)
    print(f"{passed} of {len(picked)} restore tests passed")
    print("\n== bulwark restore-tests (the history)", flush=True)
    subprocess.run([args.bulwark, "restore-tests"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
