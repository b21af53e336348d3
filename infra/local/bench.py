"""The benchmark `make bench` runs: discovery and classification of a seeded estate.

    python infra/local/bench.py --endpoint URL --bulwark PATH [--size 5000] [--seed 1]
        [--regions us-east-1,eu-west-1] [--table bulwark-bench] [--reset]
        [--manifest FILE] [--json]

Seeds the running local AWS at --endpoint with estate.py's estate of --size stores, runs
`bulwark init`, then `bulwark discover` and `bulwark classify`, each measured for wall time
and peak RSS, then compares `bulwark inventory` with the estate's manifest: recall, stores
found that are not in the manifest, classification agreement. Prints a report (or, with
--json, the figures) with each target marked PASS or FAIL; exits 1 when recall is below 100%.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import estate

TARGETS = {"calls": 250, "wall_seconds": 5.0, "peak_rss_mib": 40.0}
# The inventory's own use of its DynamoDB table, as opposed to discovery's listing calls.
STATE_TABLE_OPERATIONS = {
    "BatchGetItem", "BatchWriteItem", "CreateTable", "DeleteItem", "DescribeTable", "GetItem",
    "PutItem", "Query", "Scan", "TransactGetItems", "TransactWriteItems", "UpdateItem",
}
EXAMPLES = 10


# Runs one command and reports its wall time and rusage. Linux carries a process's peak RSS
# over fork and exec, so a child of this (large) process would report at least this process's
# RSS: the command is started from this small interpreter instead.
SPAWNER = """
import json, os, sys, time
started = time.monotonic()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"status": os.waitstatus_to_exitcode(status), "wall": time.monotonic() - started,
               "maxrss_kib": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}, out)
"""


def measured(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run a command; its stdout, wall time, peak RSS and CPU time (from wait4's rusage)."""
    with tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp, "rusage.json")
        done = subprocess.run([sys.executable, "-S", "-c", SPAWNER, str(figures), *command], env=env, capture_output=True, text=True)
        run = json.loads(figures.read_text()) if figures.exists() else {"status": done.returncode}
    if run["status"] != 0:
        raise SystemExit(f"{' '.join(command)} exited with {run['status']}:\n{done.stdout}{done.stderr}")
    return {
        "stdout": done.stdout,
        "wall_seconds": round(run["wall"], 3),
        "peak_rss_mib": round(run["maxrss_kib"] / 1024, 1),
        "cpu_seconds": round(run["cpu"], 3),
    }


def is_state_call(operation: str) -> bool:
    service, _, name = operation.partition(":")
    return service == "DynamoDB" and name in STATE_TABLE_OPERATIONS


def compare(manifest: dict[str, Any], inventory: list[dict[str, Any]], table: str) -> dict[str, Any]:
    wanted = {a["arn"]: a for a in manifest["assets"]}
    found = {row["arn"]: row for row in inventory if row["state"] == "present"}
    own = {f"arn:aws:dynamodb:{r}:{manifest['account']}:table/{table}" for r in manifest["regions"]}
    members = {
        f"arn:aws:rds:{a['region']}:{a['account']}:db:{m}": a["arn"]
        for a in manifest["assets"]
        for m in a.get("members", [])
    }
    missing = sorted(set(wanted) - set(found))
    extra = sorted(set(found) - set(wanted) - own)
    disagreements, unknown_mismatches, tag_mismatches, unclassified = [], [], [], []
    for arn, want in wanted.items():
        row = found.get(arn)
        if row is None:
            continue
        if not row["classified"]:
            unclassified.append(arn)
            continue
        if (row["tier"], row["reproducible"]) != (want["expected_tier"], want["expected_reproducible"]):
            disagreements.append({
                "arn": arn,
                "tags": want["tags"],
                "expected": {"tier": want["expected_tier"], "reproducible": want["expected_reproducible"], "rule": want["expected_rule"]},
                "got": {"tier": row["tier"], "reproducible": row["reproducible"], "rule": row["rule"]},
                "reasons": row["reasons"],
            })
        got_unknown = sorted(u["key"] for u in row["unknown_values"])
        if got_unknown != sorted(want["expected_unknown"]):
            unknown_mismatches.append({"arn": arn, "tags": want["tags"], "expected": want["expected_unknown"], "got": got_unknown})
        if row["tags"] != want["tags"]:
            tag_mismatches.append({"arn": arn, "expected": want["tags"], "got": row["tags"]})
    matched = len(wanted) - len(missing)
    return {
        "manifest": len(wanted),
        "found": matched,
        "recall": matched / len(wanted) if wanted else 1.0,
        "missing": missing,
        "extra": extra,
        "aurora_members_counted": sorted(arn for arn in extra if arn in members),
        "unclassified": unclassified,
        "classification_agreement": (matched - len(unclassified) - len(disagreements)) / matched if matched else 1.0,
        "disagreements": disagreements,
        "disagreements_by_expected_rule": dict(Counter(d["expected"]["rule"] for d in disagreements)),
        "unknown_value_mismatches": unknown_mismatches,
        "tag_mismatches": tag_mismatches,
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(figures: dict[str, Any]) -> str:
    c, d, k = figures["comparison"], figures["discover"], figures["classify"]
    lines = [
        f"Bulwark benchmark: {c['manifest']} stores over {', '.join(figures['regions'])} "
        f"(seeded in {figures['seed_seconds']} s)",
        "",
        f"recall                 {c['found']}/{c['manifest']} = {c['recall']:.2%}   target 100%   {verdict(c['recall'] == 1.0)}",
    ]
    lines += [f"  missing: {arn}" for arn in c["missing"][:EXAMPLES]]
    if len(c["missing"]) > EXAMPLES:
        lines.append(f"  ... and {len(c['missing']) - EXAMPLES} more missing")
    lines.append(f"found, not in manifest  {len(c['extra'])} (Aurora members counted as stores: {len(c['aurora_members_counted'])})")
    lines += [f"  extra: {arn}" for arn in c["extra"][:EXAMPLES]]
    lines += [
        "",
        "AWS API calls, discovery sweep (by operation):",
        *[f"  {op:<48} {n:>6}" for op, n in d["listing_calls"].items()],
        f"  {'listing calls':<48} {d['listing_total']:>6}   target <= {TARGETS['calls']}   {verdict(d['listing_total'] <= TARGETS['calls'])}",
        *[f"  {op + ' (state table)':<48} {n:>6}" for op, n in d["state_calls"].items()],
        f"  {'state-table calls':<48} {d['state_total']:>6}",
        f"  {'whole sweep':<48} {d['calls_total']:>6}   target <= {TARGETS['calls']}   {verdict(d['calls_total'] <= TARGETS['calls'])}",
        "",
    ]
    s2 = figures["second_sweep"]
    lines += [
        f"inventory records written: first sweep {d['records_written']}, second sweep of the unchanged estate "
        f"{s2['records_written']} (target 0 {verdict(s2['records_written'] == 0)}); its state-table calls "
        + ", ".join(f"{op} {n}" for op, n in s2["state_calls"].items()),
        "",
    ]
    for name, run in (("discover", d), ("classify", k), ("discover again", s2)):
        lines.append(
            f"{name:<9} wall {run['wall_seconds']:>7.2f} s (<= {TARGETS['wall_seconds']:g} s {verdict(run['wall_seconds'] <= TARGETS['wall_seconds'])})"
            f"   peak RSS {run['peak_rss_mib']:>6.1f} MiB (<= {TARGETS['peak_rss_mib']:g} MiB {verdict(run['peak_rss_mib'] <= TARGETS['peak_rss_mib'])})"
            f"   CPU {run['cpu_seconds']:.2f} s"
        )
    lines += [
        "(wall includes the local AWS's time to answer; CPU is Bulwark's own)",
        "",
        f"classification agreement {c['classification_agreement']:.2%} "
        f"({len(c['disagreements'])} disagreements, {len(c['unclassified'])} unclassified)",
    ]
    if c["disagreements_by_expected_rule"]:
        lines.append(f"  by the rule DESIGN.md says decides: {c['disagreements_by_expected_rule']}")
    for item in c["disagreements"][:EXAMPLES]:
        lines.append(f"  {item['arn']} tags {item['tags']}: expected {item['expected']}, got {item['got']}")
    lines.append(f"unknown values reported as expected: {c['found'] - len(c['unknown_value_mismatches'])}/{c['found']}")
    for item in c["unknown_value_mismatches"][:EXAMPLES]:
        lines.append(f"  {item['arn']} tags {item['tags']}: expected {item['expected']}, got {item['got']}")
    lines.append(f"tags recorded as written: {c['found'] - len(c['tag_mismatches'])}/{c['found']}")
    for item in c["tag_mismatches"][:EXAMPLES]:
        lines.append(f"  {item['arn']}: expected {item['expected']}, got {item['got']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True, help="a running, freshly reset local AWS")
    parser.add_argument("--bulwark", required=True, type=Path, help="the bulwark binary (a release build)")
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--regions", default=",".join(estate.DEFAULT_REGIONS))
    parser.add_argument("--table", default="bulwark-bench", help="Bulwark's state table")
    parser.add_argument("--workers", type=int, default=16, help="threads seeding the estate")
    parser.add_argument("--reset", action="store_true", help="forget everything the local AWS holds first")
    parser.add_argument("--manifest", type=Path, help="also write the estate's manifest here")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    say = (lambda *_: None) if args.json else (lambda text: print(text, file=sys.stderr, flush=True))
    if args.reset:
        estate.reset(args.endpoint)
    say(f"seeding {args.size} stores ...")
    started = time.monotonic()
    seeder = estate.Seeder(args.endpoint, regions, args.workers)
    assets = seeder.seed(estate.sized_estate(args.size, args.seed, regions))
    seed_seconds = round(time.monotonic() - started, 2)
    manifest = {"account": seeder.account, "regions": regions, "seed": args.seed, "assets": assets}
    if args.manifest:
        args.manifest.write_text(json.dumps(manifest, indent=1) + "\n")

    env = dict(
        os.environ,
        AWS_ENDPOINT_URL=args.endpoint,
        AWS_REGION=regions[0],
        AWS_ACCESS_KEY_ID=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        AWS_SECRET_ACCESS_KEY=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        BULWARK_REGIONS=",".join(regions),
        BULWARK_TABLE=args.table,
    )
    bulwark = str(args.bulwark)
    say(f"seeded in {seed_seconds} s; bulwark init, discover, classify ...")
    subprocess.run([bulwark, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    discover = measured([bulwark, "discover", "--format", "json"], env)
    classify = measured([bulwark, "classify", "--format", "json"], env)
    # The estate again, unchanged: a sweep that should write no inventory record.
    again = measured([bulwark, "discover", "--format", "json"], env)
    inventory = json.loads(
        subprocess.run([bulwark, "inventory", "--format", "json"], env=env, check=True, capture_output=True, text=True).stdout
    )

    first_sweep = json.loads(discover.pop("stdout"))
    second_sweep = json.loads(again.pop("stdout"))
    calls = first_sweep["calls"]
    listing = {op: n for op, n in sorted(calls.items()) if not is_state_call(op)}
    state = {op: n for op, n in sorted(calls.items()) if is_state_call(op)}
    classify.pop("stdout")
    figures = {
        "size": args.size,
        "seed": args.seed,
        "regions": regions,
        "seed_seconds": seed_seconds,
        "discover": {
            **discover,
            "listing_calls": listing,
            "listing_total": sum(listing.values()),
            "state_calls": state,
            "state_total": sum(state.values()),
            "calls_total": sum(calls.values()),
            "records_written": first_sweep["written"],
        },
        "second_sweep": {
            **again,
            "records_written": second_sweep["written"],
            "state_calls": {op: n for op, n in sorted(second_sweep["calls"].items()) if is_state_call(op)},
        },
        "classify": classify,
        "comparison": compare(manifest, inventory, args.table),
        "targets": {"recall": 1.0, **TARGETS},
    }
    print(json.dumps(figures, indent=1) if args.json else report(figures))
    return 0 if figures["comparison"]["recall"] == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
