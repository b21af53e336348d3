"""The deployed system, measured: the template deployed to the local AWS with the release
binaries, then new critical tables, one at a time, each with its AWS Config change event put
on the bus. Reports the event-to-protected latency (the state machine's execution ended with
the table tagged, selected and under PITR), each function's cold-start init time as the
Runtime API saw it (process start to its first `next`) less a hello-world Rust Lambda's built
the same way (`--binaries`' `hello`, run by the same emulator: its own overhead is not the
function's), and the bootstraps' sizes (the `--binaries` themselves), next to their targets.
Then the scheduled sweep, fired over the whole estate the benchmark seeded: the state machine runs discover, classify and assign-policy over every store,
and its output (assign-policy's, through `$.Payload`) must stay far under the 256 KiB a Step
Functions state may carry.

    python infra/local/deployed_bench.py --endpoint URL --binaries target/lambda-release [--runs 5]
           [--regions us-east-1,eu-west-1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import config_event  # noqa: E402
import deploy  # noqa: E402

LATENCY_TARGET_S = 5.0
INIT_TARGET_MS = 30.0
BOOTSTRAP_TARGET_MB = 12.0
FUNCTIONS = ("discover", "classify", "assign-policy", "validate-restore", "failover")
HELLO = "bulwark-bench-hello"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


OUTPUT_LIMIT = 256 * 1024


def sweep_summary(outcome: dict) -> str:
    """The sweep's figures from its execution's output, as statemachine/discover-classify.asl.json
    shapes it: `plan` (the shards and the scopes the plan could not read) and `shards`, one
    result per shard (`seen`, `written`; `failed`, with `error` or `failures`). classify and
    assign-policy report nothing into it (their ResultPath is null): coverage is the report's."""
    shards = outcome.get("shards") or []
    done = [s for s in shards if not s.get("failed")]
    failed = len(shards) - len(done)
    unplanned = len((outcome.get("plan") or {}).get("failures") or [])
    return (f"{len(shards)} shards, {sum(s.get('seen', 0) for s in done)} stores seen, "
            f"{sum(s.get('written', 0) for s in done)} written, {failed} shards failed, "
            f"{unplanned} scopes not planned")


def sweep(endpoint: str, region: str, deployed: dict) -> None:
    """Fire the sweep's schedule and wait for its execution over the whole estate."""
    sfn = config_event.client("stepfunctions", region)
    machine = deployed["state_machines"]["DiscoverAndClassify"]
    before = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]}
    account = machine.split(":")[4]
    body = {"account": account, "region": region, "rule": deployed["rules"]["DiscoverAndClassifyFullSweep"]["name"]}
    request = urllib.request.Request(f"{endpoint}/moto-api/bulwark/events/fire", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=30).read()
    started = time.monotonic()
    while True:
        new = [e for e in sfn.list_executions(stateMachineArn=machine)["executions"] if e["executionArn"] not in before]
        if new and new[0]["status"] != "RUNNING":
            break
        if time.monotonic() - started > 1800:
            raise SystemExit("the sweep's execution did not end within 30 minutes")
        time.sleep(1)
    execution = sfn.describe_execution(executionArn=new[0]["executionArn"])
    output = execution.get("output") or ""
    outcome = json.loads(output or "{}")
    print(f"scheduled sweep, whole estate: {execution['status']} in {time.monotonic() - started:.1f} s; "
          f"{sweep_summary(outcome)}")
    print(f"state machine output  {len(output.encode()):7d} bytes   limit {OUTPUT_LIMIT} bytes   "
          f"{verdict(execution['status'] == 'SUCCEEDED' and len(output.encode()) < OUTPUT_LIMIT)}")


def hello_init_ms(endpoint: str, binaries: Path, region: str) -> float | None:
    """The cold-start init of `hello`, a hello-world Lambda built like the functions, as the same
    emulator measures it: a function of its own, bound to the binary, invoked once."""
    binary = binaries / "hello"
    if not binary.is_file():
        return None
    iam, lam = config_event.client("iam", region), config_event.client("lambda", region)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"{HELLO}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    # An empty zip archive: the code that runs is the binary, bound below.
    empty_zip = b"PK\x05\x06" + bytes(18)
    arn = lam.create_function(FunctionName=HELLO, Runtime="provided.al2023", Handler="bootstrap", Role=role,
                              Code={"ZipFile": empty_zip})["FunctionArn"]
    request = urllib.request.Request(f"{endpoint}/moto-api/bulwark/lambda/runtime",
                                     data=json.dumps({"arn": arn, "binary": str(binary.resolve())}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=30).read()
    lam.invoke(FunctionName=HELLO, Payload=b"{}")
    with urllib.request.urlopen(f"{endpoint}/moto-api/bulwark/lambda/init-times", timeout=10) as response:
        times = json.load(response).get(HELLO) or []
    return max(times) if times else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    parser.add_argument("--binaries", type=Path, required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--regions", default="us-east-1")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ["AWS_ENDPOINT_URL"] = args.endpoint
    deployed = deploy.deploy(args.endpoint, args.binaries, args.region, {"Regions": args.regions})

    latencies = []
    for run in range(args.runs):
        result = config_event.protect_new_table(f"bench-orders-{int(time.time())}-{run}", args.region)
        if result["status"] != "SUCCEEDED" or result["tier_tag"] is None:
            raise SystemExit(f"run {run}: not protected: {result}")
        latencies.append(result["latency_seconds"])
    first, warm = latencies[0], latencies[1:] or latencies
    median = statistics.median(warm)
    print(f"event -> protected, first (cold functions)  {first:6.2f} s   target < {LATENCY_TARGET_S:.0f} s   {verdict(first < LATENCY_TARGET_S)}")
    print(f"event -> protected, warm (median of {len(warm)})      {median:6.2f} s   target < {LATENCY_TARGET_S:.0f} s   {verdict(median < LATENCY_TARGET_S)}")

    with urllib.request.urlopen(f"{args.endpoint}/moto-api/bulwark/lambda/init-times", timeout=10) as response:
        init_times = json.load(response)
    baseline = hello_init_ms(args.endpoint, args.binaries, args.region)
    if baseline is None:
        print(f"cold-start init  no hello-world baseline: {args.binaries / 'hello'} is not built")
    else:
        print(f"cold-start init  {'hello world (the baseline)':<24} {baseline:7.1f} ms")
    for name, times in sorted(init_times.items()):
        worst = max(times)
        if baseline is None:
            print(f"cold-start init  {name:<24} {worst:7.1f} ms (emulator included)")
            continue
        net = worst - baseline
        print(f"cold-start init  {name:<24} {worst:7.1f} ms, {net:6.1f} ms over hello world   "
              f"target <= {INIT_TARGET_MS:.0f} ms   {verdict(net <= INIT_TARGET_MS)}")

    sweep(args.endpoint, args.region, deployed)

    for name in (*FUNCTIONS, "hello"):
        bootstrap = args.binaries / name
        if not bootstrap.is_file():
            print(f"bootstrap        {name:<24} not built")
            continue
        size = bootstrap.stat().st_size / 1_000_000
        target = "" if name == "hello" else f"   target <= {BOOTSTRAP_TARGET_MB:.0f} MB   {verdict(size <= BOOTSTRAP_TARGET_MB)}"
        print(f"bootstrap        {name:<24} {size:7.1f} MB{target}")


if __name__ == "__main__":
    sys.exit(main())
