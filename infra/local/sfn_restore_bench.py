"""Restore tests through the deployed state machine, at the scale one run takes (issue #21).

    python infra/local/sfn_restore_bench.py --endpoint URL --binaries target/release
           [--tests 500] [--restore-seconds 8] [--poll-seconds 1]
           [--inline-tests 40] [--inline-history-limit 2000] [--json FILE]

In an account of its own on the local AWS: deploys infra/aws/template.yaml (RestorePollSeconds
--poll-seconds), seeds --tests small DynamoDB tables tagged DataClassification=Critical, has the
deployed discover-classify state machine's full sweep protect them (discover, classify,
assign-policy) and the local AWS run the backup plans, then makes each DynamoDB restore take
--restore-seconds (so each test polls many times) and runs the restore-test state machine with
{"tier": "critical"} to its end. Reports the tests run, passed and failed (with reasons), the
wall time, the parent's history length and the largest child's (each test is a child execution
of the Distributed Map), the Lambda invocations (the TaskScheduled events of all those
histories), and the restored copies left behind (tables named bulwark-rt-*).

Then the point of the Distributed Map, small: in a second account with --inline-tests tables,
the history quota lowered to --inline-history-limit (and put back afterwards), the same run
through the deployed state machine and through a copy of its definition whose Map is INLINE
(same role, same function): the first succeeds, the second fails at the quota.

Exits non-zero when a run did not end as it should or a test failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ADMIN_ROLE = "OrganizationAccountAccessRole"
RESTORED_PREFIX = "bulwark-rt-"
RUN_DEADLINE_SECONDS = 3 * 3600


# --- the local AWS ------------------------------------------------------------------------


def control(endpoint: str, path: str, body: Any | None = None, method: str = "POST", timeout: float = 600) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{endpoint}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as err:
        raise SystemExit(f"{method} {path}: {err.code} {err.read().decode(errors='replace')}") from err
    return json.loads(raw) if raw.strip() else {}


def fresh_account_id() -> str:
    """A twelve-digit account id no earlier run used (the harness's scheme: from the clock)."""
    return f"{300_000_000_000 + (time.time_ns() // 1000) % 600_000_000_000:012d}"


class Account:
    """Administrator clients in an account of its own (AssumeRole of the account's
    OrganizationAccountAccessRole, which the local AWS creates on first use)."""

    def __init__(self, endpoint: str, region: str, account: str) -> None:
        self.endpoint, self.region, self.id = endpoint, region, account
        base = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test")
        sts = base.client("sts", region_name=region, endpoint_url=endpoint)
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ADMIN_ROLE}", RoleSessionName="sfn-restore-bench")["Credentials"]
        self.session = boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                             aws_session_token=c["SessionToken"])
        self.config = Config(max_pool_connections=32, retries={"mode": "standard", "max_attempts": 5})
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region, endpoint_url=self.endpoint,
                                                         config=self.config)
        return self._clients[service]


def deploy(account: Account, binaries: Path, poll_seconds: int) -> dict[str, Any]:
    body = {"account": account.id, "region": account.region, "binaries": str(binaries.resolve()),
            "parameters": {"Regions": account.region, "RestorePollSeconds": str(poll_seconds)}}
    return control(account.endpoint, "/moto-api/bulwark/template/deploy", body)


# --- the estate, protected ----------------------------------------------------------------


def table_names(count: int) -> list[str]:
    return [f"rtb-critical-{n:04d}" for n in range(count)]


def seed_tables(account: Account, names: list[str], items: int = 3) -> None:
    ddb = account.client("dynamodb")

    def create(name: str) -> None:
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         Tags=[{"Key": "DataClassification", "Value": "Critical"}])
        for n in range(items):
            ddb.put_item(TableName=name, Item={"id": {"S": f"item-{n}"}, "n": {"N": str(n)}})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, names))


def run_to_end(sfn: Any, execution_arn: str, progress: Any = None, every: float = 30.0) -> dict[str, Any]:
    """Wait for the execution to end; `progress(elapsed)` is called every `every` seconds."""
    started = last = time.monotonic()
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        now = time.monotonic()
        if now - started > RUN_DEADLINE_SECONDS:
            raise SystemExit(f"{execution_arn} still running after {RUN_DEADLINE_SECONDS} s")
        if progress is not None and now - last >= every:
            last = now
            progress(now - started)
        time.sleep(2)


def protect(account: Account, deployed: dict[str, Any], names: list[str]) -> None:
    """The deployed full sweep (discover, classify, assign-policy), then the backup plans run."""
    sfn = account.client("stepfunctions")
    machine = deployed["state_machines"]["DiscoverAndClassify"]
    before = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]}
    rule = deployed["rules"]["DiscoverAndClassifyFullSweep"]["name"]
    control(account.endpoint, "/moto-api/bulwark/events/fire", {"account": account.id, "region": account.region, "rule": rule})
    new: list[str] = []
    while not new:
        new = [e["executionArn"] for e in sfn.list_executions(stateMachineArn=machine)["executions"] if e["executionArn"] not in before]
        time.sleep(0.5)
    swept = run_to_end(sfn, new[0])
    if swept["status"] != "SUCCEEDED":
        raise SystemExit(f"the sweep {swept['status']}: {swept.get('error')}: {swept.get('cause')}")
    control(account.endpoint, f"/moto-api/bulwark/backup/run-plans?account={account.id}&region={account.region}", {})
    wait_for_points(account, names)


def wait_for_points(account: Account, names: list[str], timeout: float = 900) -> None:
    """Until every table has a completed recovery point (in any vault of the account)."""
    backup = account.client("backup")
    wanted = {f"arn:aws:dynamodb:{account.region}:{account.id}:table/{n}" for n in names}
    started = time.monotonic()
    while True:
        done = set()
        for vault in backup.list_backup_vaults()["BackupVaultList"]:
            for page in backup.get_paginator("list_recovery_points_by_backup_vault").paginate(BackupVaultName=vault["BackupVaultName"]):
                done |= {p["ResourceArn"] for p in page["RecoveryPoints"] if p["Status"] == "COMPLETED"}
        missing = wanted - done
        if not missing:
            return
        if time.monotonic() - started > timeout:
            raise SystemExit(f"{len(missing)} tables have no completed recovery point after {timeout:.0f} s, e.g. {sorted(missing)[:3]}")
        time.sleep(2)


# --- a run and its histories ----------------------------------------------------------------


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events += page["events"]
    return events


def children(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    found = []
    for map_run in sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]:
        for page in sfn.get_paginator("list_executions").paginate(mapRunArn=map_run["mapRunArn"]):
            found += page["executions"]
    return found


def tasks_scheduled(events: list[dict[str, Any]]) -> int:
    return sum(1 for e in events if e["type"] == "TaskScheduled")


def start(sfn: Any, machine: str, name: str, payload: dict[str, Any]) -> str:
    return sfn.start_execution(stateMachineArn=machine, name=f"{name}-{time.time_ns()}", input=json.dumps(payload))["executionArn"]


def progress_printer(sfn: Any, execution_arn: str) -> Any:
    def say(elapsed: float) -> None:
        runs = sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]
        if not runs:
            print(f"  {elapsed:6.0f} s: selecting", flush=True)
            return
        counts = sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"])["executionCounts"]
        print(f"  {elapsed:6.0f} s: {counts['succeeded']} children succeeded, {counts['failed']} failed, "
              f"{counts['running']} running of {counts['total']}", flush=True)

    return say


def run_tests(account: Account, machine: str, payload: dict[str, Any], quiet: bool = False) -> dict[str, Any]:
    """One run of a restore-test state machine, to its end, and what its histories say."""
    sfn = account.client("stepfunctions")
    started = time.monotonic()
    arn = start(sfn, machine, "bench", payload)
    described = run_to_end(sfn, arn, None if quiet else progress_printer(sfn, arn))
    wall = time.monotonic() - started
    parent = history(sfn, arn)
    kids = children(sfn, arn)
    lengths, invocations, outcomes = [], tasks_scheduled(parent), []
    for kid in kids:
        events = history(sfn, kid["executionArn"])
        lengths.append(len(events))
        invocations += tasks_scheduled(events)
        out = sfn.describe_execution(executionArn=kid["executionArn"])
        outcomes.append({"status": out["status"], "output": json.loads(out.get("output") or "null"),
                         "error": out.get("error"), "cause": out.get("cause")})
    output = json.loads(described.get("output") or "{}")
    selected = (output.get("selected") or {}).get("tests")
    return {
        "execution": arn,
        "status": described["status"],
        "error": described.get("error"),
        "cause": described.get("cause"),
        "wall_seconds": round(wall, 1),
        "selected": len(selected) if isinstance(selected, list) else None,
        "swept": output.get("swept"),
        "parent_history": len(parent),
        "children": len(kids),
        "children_by_status": dict(Counter(o["status"] for o in outcomes)),
        "largest_child_history": max(lengths, default=0),
        "median_child_history": sorted(lengths)[len(lengths) // 2] if lengths else 0,
        "lambda_invocations": invocations,
        "outcomes": outcomes,
        "parent_failure": last_failure(parent),
        "finished_in_parent": states_exited(parent, "Finish"),
    }


def states_exited(events: list[dict[str, Any]], name: str) -> int:
    """How often the state `name` was left in this history (an INLINE Map's tests end there)."""
    return sum(1 for e in events if (e.get("stateExitedEventDetails") or {}).get("name") == name)


def last_failure(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    for event in reversed(events):
        details = event.get("executionFailedEventDetails")
        if details:
            return {"event": event["id"], **details}
    return None


def verdicts(run: dict[str, Any]) -> dict[str, Any]:
    """Tests passed and failed, from the children's outputs (each child's Finish answer)."""
    def is_finished(outcome: dict[str, Any]) -> bool:
        return isinstance(outcome["output"], dict) and "passed" in outcome["output"]

    finished = [o["output"] for o in run["outcomes"] if is_finished(o)]
    unfinished = [o for o in run["outcomes"] if not is_finished(o)]
    passed = [f for f in finished if f["passed"]]
    failed = [f for f in finished if not f["passed"]]
    return {
        "tests": len(run["outcomes"]),
        "passed": len(passed),
        "failed": len(failed),
        "failure_reasons": dict(Counter((f.get("error") or "a check did not pass") for f in failed)),
        "not_cleaned_up": sum(1 for f in finished if not f.get("cleaned_up")),
        "unfinished": [{k: o[k] for k in ("status", "error", "cause", "output")} for o in unfinished][:5],
        "unfinished_count": len(unfinished),
        "rto_seconds_max": max((f.get("rto_seconds") or 0 for f in finished), default=0),
    }


def leftovers(account: Account) -> int:
    tables = []
    for page in account.client("dynamodb").get_paginator("list_tables").paginate():
        tables += [t for t in page["TableNames"] if t.startswith(RESTORED_PREFIX)]
    buckets = [b["Name"] for b in account.client("s3").list_buckets()["Buckets"] if b["Name"].startswith(RESTORED_PREFIX)]
    return len(tables) + len(buckets)


# --- the Map INLINE, for comparison ---------------------------------------------------------


def max_concurrency(account: Account, machine: str) -> int:
    """How many tests the deployed state machine's Map runs at once."""
    sfn = account.client("stepfunctions")
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=machine)["definition"])
    return int(definition["States"]["Tests"]["MaxConcurrency"])


def inline_copy(account: Account, machine: str) -> str:
    """A copy of the deployed state machine (same role, same function) whose Map is INLINE.

    Select passes the running state machine's ARN to the function, which lists its running
    executions (to yield to an earlier run) under a role allowed states:ListExecutions on the
    deployed state machine only: the copy names the deployed one there instead of its own."""
    sfn = account.client("stepfunctions")
    described = sfn.describe_state_machine(stateMachineArn=machine)
    definition = inline_definition(json.loads(described["definition"]), machine)
    name = described["name"] + "-inline"
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=described["roleArn"])["stateMachineArn"]


def inline_definition(definition: dict[str, Any], machine: str) -> dict[str, Any]:
    """The restore-test definition with its Map INLINE, Select naming `machine` as its own."""
    definition = json.loads(json.dumps(definition))
    definition["States"]["Tests"]["ItemProcessor"]["ProcessorConfig"] = {"Mode": "INLINE"}
    execution = definition["States"]["Select"]["Parameters"]["Payload"]["execution"]
    execution.pop("state_machine.$")
    execution["state_machine"] = machine
    return definition


def history_limit(endpoint: str, limit: int | None = None) -> int:
    path = "/moto-api/bulwark/stepfunctions/history-limit"
    answer = control(endpoint, path, {"limit": limit}) if limit is not None else control(endpoint, path, method="GET")
    return int(answer["limit"])


def set_restore_seconds(account: Account, seconds: float) -> None:
    control(account.endpoint, "/moto-api/bulwark/backup/restore-durations", {"account": account.id, "seconds": {"DynamoDB": seconds}})


def prepared_account(args: argparse.Namespace, tables: int, say: Any) -> tuple[Account, dict[str, Any], dict[str, float]]:
    """An account of its own: deployed, `tables` critical tables seeded and backed up."""
    phases: dict[str, float] = {}
    account = Account(args.endpoint, args.region, fresh_account_id())
    t = time.monotonic()
    deployed = deploy(account, args.binaries, args.poll_seconds)
    phases["deploy"] = round(time.monotonic() - t, 1)
    say(f"account {account.id}: deployed in {phases['deploy']} s")
    names = table_names(tables)
    t = time.monotonic()
    seed_tables(account, names)
    phases["seed"] = round(time.monotonic() - t, 1)
    say(f"  {tables} critical tables seeded in {phases['seed']} s")
    t = time.monotonic()
    protect(account, deployed, names)
    phases["protect"] = round(time.monotonic() - t, 1)
    say(f"  protected (deployed sweep: discover, classify, assign-policy; backup plans run; recovery points completed) in {phases['protect']} s")
    set_restore_seconds(account, args.restore_seconds)
    return account, deployed, phases


def compare_inline(args: argparse.Namespace, say: Any) -> dict[str, Any]:
    account, deployed, phases = prepared_account(args, args.inline_tests, say)
    machine = deployed["state_machines"]["RestoreTests"]
    inline = inline_copy(account, machine)
    before = history_limit(args.endpoint)
    history_limit(args.endpoint, args.inline_history_limit)
    try:
        say(f"  history quota lowered to {args.inline_history_limit} events (was {before})")
        distributed = run_tests(account, machine, {"tier": "critical"}, quiet=True)
        say(f"  DISTRIBUTED: {distributed['status']} in {distributed['wall_seconds']} s; parent history {distributed['parent_history']} events, "
            f"largest child {distributed['largest_child_history']}")
        inlined = run_tests(account, inline, {"tier": "critical"}, quiet=True)
        say(f"  INLINE:      {inlined['status']} in {inlined['wall_seconds']} s; history {inlined['parent_history']} events; "
            f"{inlined['error']}: {inlined['cause']}")
    finally:
        history_limit(args.endpoint, before)
        say(f"  history quota back to {history_limit(args.endpoint)} events")
    return {"account": account.id, "phases": phases, "history_limit": args.inline_history_limit,
            "distributed": brief(distributed), "inline": brief(inlined), "left_behind": leftovers(account)}


def brief(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if k != "outcomes"} | {"verdicts": verdicts(run)}


# --- the report -----------------------------------------------------------------------------


def report(figures: dict[str, Any]) -> list[str]:
    run, v = figures["run"], figures["run"]["verdicts"]
    lines = [
        f"restore tests through the state machine: {figures['tests_seeded']} critical tables, restores of {figures['restore_seconds']:g} s, "
        f"polled every {figures['poll_seconds']} s, Map DISTRIBUTED (MaxConcurrency {figures['max_concurrency']})",
        f"  phases: {figures['phases']}",
        f"  run {run['status']} in {run['wall_seconds']} s ({run['wall_seconds'] / max(1, v['tests']):.2f} s per test); "
        f"{run['selected']} selected, {v['tests']} tests run: {v['passed']} passed, {v['failed']} failed, {v['unfinished_count']} unfinished",
    ]
    if run["status"] != "SUCCEEDED":
        lines.append(f"  run failure: {run['error']}: {run['cause']} (history: {run['parent_failure']})")
    for reason, count in v["failure_reasons"].items():
        lines.append(f"    failed x{count}: {reason}")
    for item in v["unfinished"]:
        lines.append(f"    unfinished: {item}")
    lines += [
        f"  parent history {run['parent_history']} events; {run['children']} child executions {run['children_by_status']}, "
        f"history largest {run['largest_child_history']} events, median {run['median_child_history']} (quota {figures['history_quota']})",
        f"  Lambda invocations (TaskScheduled events, parent and children): {run['lambda_invocations']} "
        f"({run['lambda_invocations'] / max(1, v['tests']):.1f} per test)",
        f"  swept: {run['swept']}; restored copies left (bulwark-rt-*): {figures['left_behind']}; tests whose copy was not deleted: {v['not_cleaned_up']}",
    ]
    inline = figures.get("inline")
    if inline:
        d, i = inline["distributed"], inline["inline"]
        lines += [
            f"the Map DISTRIBUTED vs INLINE: {inline['phases']} ; {d['verdicts']['tests']} tests, history quota lowered to {inline['history_limit']} events",
            f"  DISTRIBUTED {d['status']} in {d['wall_seconds']} s: parent history {d['parent_history']}, largest child {d['largest_child_history']}; "
            f"{d['verdicts']['passed']} passed, {d['verdicts']['failed']} failed",
            f"  INLINE      {i['status']} in {i['wall_seconds']} s: history {i['parent_history']} events; {i['error']}: {i['cause']}",
            f"              {i['finished_in_parent']} of its tests finished before the quota; restored copies it left for the sweeper: {inline['left_behind']}",
        ]
    return lines


def succeeded(figures: dict[str, Any]) -> bool:
    run, v = figures["run"], figures["run"]["verdicts"]
    ok = (run["status"] == "SUCCEEDED" and v["tests"] == run["selected"] and v["unfinished_count"] == 0
          and v["failed"] == 0 and figures["left_behind"] == 0)
    inline = figures.get("inline")
    if inline:
        ok = ok and inline["distributed"]["status"] == "SUCCEEDED" and inline["inline"]["status"] == "FAILED" \
            and inline["inline"]["error"] == "States.Runtime"
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    parser.add_argument("--binaries", type=Path, required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--tests", type=int, default=500, help="critical tables seeded (a run tests at most 500)")
    parser.add_argument("--restore-seconds", type=float, default=8.0, help="how long each DynamoDB restore takes")
    parser.add_argument("--poll-seconds", type=int, default=1, help="the template's RestorePollSeconds")
    parser.add_argument("--inline-tests", type=int, default=40, help="tables for the DISTRIBUTED/INLINE comparison (0: none)")
    parser.add_argument("--inline-history-limit", type=int, default=2000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    def say(text: str) -> None:
        print(text, flush=True)

    account, deployed, phases = prepared_account(args, args.tests, say)
    say(f"  each DynamoDB restore now takes {args.restore_seconds:g} s; starting the restore-test state machine with {{\"tier\": \"critical\"}}")
    run = run_tests(account, deployed["state_machines"]["RestoreTests"], {"tier": "critical"})
    figures: dict[str, Any] = {
        "account": account.id,
        "tests_seeded": args.tests,
        "restore_seconds": args.restore_seconds,
        "poll_seconds": args.poll_seconds,
        "max_concurrency": max_concurrency(account, deployed["state_machines"]["RestoreTests"]),
        "history_quota": history_limit(args.endpoint),
        "phases": phases,
        "run": brief(run),
        "left_behind": leftovers(account),
    }
    if args.inline_tests:
        figures["inline"] = compare_inline(args, say)
    say("")
    for line in report(figures):
        say(line)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    ok = succeeded(figures)
    say(f"{'PASS' if ok else 'FAIL'}: a {run['selected']}-test run through the state machine")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
