"""assign-policy and coverage at scale, on an estate already discovered and classified.

    python infra/local/policy_bench.py --endpoint URL --bulwark PATH [--regions a,b] [--json]

Runs `bulwark plan`, `apply`, `apply` again, checks from `bulwark report --format json` that
every backup-required asset is selected by exactly one plan, asks the local AWS to run every
backup plan once, then waits until coverage settles and reports it. Exits non-zero when a
"Done when" of the assign-policy issue does not hold: plan or the second apply made a mutating
call, an asset is selected by other than one plan, coverage is under 100%, or an exception has
no reason.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

import boto3


def bulwark(binary: str, *args: str) -> tuple[dict | list, float]:
    started = time.monotonic()
    out = subprocess.run([binary, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout), time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bulwark", required=True)
    parser.add_argument("--regions", default="us-east-1,eu-west-1")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for coverage to settle")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ENDPOINT_URL", args.endpoint)
    figures: dict[str, object] = {}
    failures: list[str] = []

    planned, seconds = bulwark(args.bulwark, "plan", "--format", "json")
    figures["plan"] = {"changes": _changes(planned), "mutating_calls": planned["mutating_calls"],
                       "calls": sum(planned["calls"].values()), "seconds": round(seconds, 1)}
    applied, seconds = bulwark(args.bulwark, "apply", "--format", "json")
    figures["apply"] = {"changes": _changes(applied), "mutating_calls": applied["mutating_calls"],
                        "calls": sum(applied["calls"].values()), "seconds": round(seconds, 1)}
    again, seconds = bulwark(args.bulwark, "apply", "--format", "json")
    figures["second_apply"] = {"changes": _changes(again), "mutating_calls": again["mutating_calls"],
                               "calls": sum(again["calls"].values()), "seconds": round(seconds, 1)}
    if planned["mutating_calls"] != 0:
        failures.append(f"plan made {planned['mutating_calls']} mutating calls")
    if again["mutating_calls"] != 0 or _changes(again) != 0:
        failures.append(f"the second apply made {again['mutating_calls']} mutating calls, {_changes(again)} changes")

    report, _ = bulwark(args.bulwark, "report", "--format", "json")
    required = [a for a in report["assets"] if a["backup_required"]]
    wrong = [a["arn"] for a in report["assets"] if len(a["selected_by"]) != (1 if a["backup_required"] else 0)]
    figures["selection"] = {"backup_required": len(required), "not_selected_by_exactly_one": len(wrong)}
    if wrong:
        failures.append(f"{len(wrong)} assets not selected by exactly the plans they should be, e.g. {wrong[:3]}")

    account = boto3.client("sts", region_name="us-east-1", endpoint_url=args.endpoint).get_caller_identity()["Account"]
    started = time.monotonic()
    jobs = 0
    for region in args.regions.split(","):
        url = f"{args.endpoint}/moto-api/bulwark/backup/run-plans?account={account}&region={region}"
        with urllib.request.urlopen(urllib.request.Request(url, method="POST")) as response:
            jobs += len(json.load(response).get("BackupJobIds", []))
    figures["run_plans"] = {"backup_jobs": jobs, "seconds": round(time.monotonic() - started, 1)}

    deadline = time.monotonic() + args.timeout
    while True:
        report, seconds = bulwark(args.bulwark, "report", "--format", "json")
        totals = report["summary"]["totals"]
        if totals["protected"] == totals["backup_required"] or time.monotonic() > deadline:
            break
        time.sleep(2)
    exceptions = report["summary"]["exceptions"]
    figures["coverage"] = {
        "backup_required": totals["backup_required"],
        "protected": totals["protected"],
        "coverage_percent": totals["coverage_percent"],
        "rpo_breaches": totals["rpo_breaches"],
        "exceptions": len(exceptions),
        "exceptions_without_reason": sum(1 for e in exceptions if not e["reasons"]),
        "report_seconds": round(seconds, 1),
    }
    if totals["protected"] != totals["backup_required"]:
        failures.append(f"coverage {totals['coverage_percent']}% after the plans ran")
    if figures["coverage"]["exceptions_without_reason"]:
        failures.append("an exception has no reason")

    if args.json:
        print(json.dumps({"figures": figures, "failures": failures}, indent=2))
    else:
        for step in ("plan", "apply", "second_apply"):
            f = figures[step]
            print(f"{step:<13} {f['changes']:>6} changes  {f['calls']:>6} AWS calls  {f['mutating_calls']:>6} mutating  {f['seconds']:>6} s")
        s = figures["selection"]
        print(f"selection     {s['backup_required']} backup-required assets; {s['not_selected_by_exactly_one']} not selected by exactly one plan")
        r = figures["run_plans"]
        print(f"run-plans     {r['backup_jobs']} backup jobs in {r['seconds']} s")
        c = figures["coverage"]
        print(f"coverage      {c['protected']}/{c['backup_required']} = {c['coverage_percent']}%; {c['rpo_breaches']} RPO breaches; "
              f"{c['exceptions']} exceptions, {c['exceptions_without_reason']} without a reason; report in {c['report_seconds']} s")
        for failure in failures:
            print(f"FAIL: {failure}")
        print("PASS" if not failures else "FAIL")
    return 1 if failures else 0


def _changes(report: dict) -> int:
    return sum(len(s["backup_actions"]) + len(s["tag_changes"]) + len(s["native_actions"]) for s in report["scopes"])


if __name__ == "__main__":
    sys.exit(main())
