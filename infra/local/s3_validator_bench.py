"""The S3 restore validator at scale: a critical bucket of --objects objects restore-tested by the
CLI, its peak memory measured.

    python infra/local/s3_validator_bench.py --endpoint URL --bulwark PATH [--objects 1000000]
        [--size 32] [--region us-east-1] [--table bulwark-s3bench] [--json]

On a freshly reset local AWS (this resets it): a versioned bucket tagged BackupTier=Tier1 (the
critical tier) is filled through the local-only bulk-put control path, then `bulwark init`,
`discover`, `classify` and `apply` protect it, the local AWS runs its backup plan once (a
recovery point of every object), and `bulwark restore-test --arn <bucket> --format json` restores,
validates (ListObjectVersions of the source and ListObjectsV2 of the copy, streamed in key order)
and deletes the copy. The CLI's memory is read from /proc/<pid>/status every 50 ms: VmHWM, its
peak so far, at the test's end of validation (restore and validation) and at its exit (the copy's
deletion too). Prints objects, peak MiB, wall time, the verdict and the AWS calls; exits non-zero
unless the test passed and the copy is gone.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

import boto3

import estate

CHUNK = 250_000  # objects a bulk-put call writes
SAMPLE_SECONDS = 0.05


def control(endpoint: str, path: str, body: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{endpoint}{path}", data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)  # type: ignore[no-any-return]


def seed(endpoint: str, account: str, region: str, bucket: str, objects: int, size: int) -> float:
    """The critical, versioned bucket with `objects` objects; the seconds the objects took."""
    s3 = boto3.client("s3", region_name=region, endpoint_url=endpoint)
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **where)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "BackupTier", "Value": "Tier1"}]})
    started = time.monotonic()
    for start in range(0, objects, CHUNK):
        count = min(CHUNK, objects - start)
        control(endpoint, "/moto-api/bulwark/s3/bulk-put",
                {"account": account, "region": region, "bucket": bucket, "count": count, "prefix": "data/", "size": size, "start": start})
    return time.monotonic() - started


def protect(endpoint: str, bulwark: str, account: str, region: str, arn: str) -> float:
    """Bulwark protects the bucket and the local AWS backs it up once; the seconds it took.
    The template's roles come first: AWS Backup restores as Bulwark's restore role."""
    started = time.monotonic()
    control(endpoint, "/moto-api/bulwark/template/roles", {"account": account, "region": region})
    for step in (["init"], ["discover"], ["classify"], ["apply"]):
        subprocess.run([bulwark, *step], check=True, capture_output=True, text=True)
    control(endpoint, f"/moto-api/bulwark/backup/run-plans?account={account}&region={region}", {})
    backup = boto3.client("backup", region_name=region, endpoint_url=endpoint)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        points = backup.list_recovery_points_by_resource(ResourceArn=arn).get("RecoveryPoints", [])
        if any(p["Status"] == "COMPLETED" for p in points):
            return time.monotonic() - started
        time.sleep(1)
    raise SystemExit(f"no completed recovery point of {arn} within 10 minutes")


def status_kib(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/status") as status:
        return {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in status) if k in ("VmRSS", "VmHWM")}


def measured(command: list[str]) -> dict[str, Any]:
    """Run the command, sampling its memory; its stdout, wall time and samples (UTC time, VmRSS
    KiB, VmHWM KiB)."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: dict[str, str] = {}
    reader = threading.Thread(target=lambda: out.update(zip(("stdout", "stderr"), process.communicate())))
    reader.start()
    samples: list[tuple[datetime.datetime, int, int]] = []
    while process.poll() is None:
        try:
            kib = status_kib(process.pid)
        except (FileNotFoundError, ProcessLookupError, ValueError):
            break
        if "VmHWM" in kib:  # gone once the process is a zombie
            samples.append((datetime.datetime.now(datetime.timezone.utc), kib["VmRSS"], kib["VmHWM"]))
        time.sleep(SAMPLE_SECONDS)
    reader.join()
    wall = time.monotonic() - started
    return {"status": process.returncode, "wall_seconds": wall, "samples": samples, **out}


def _mib(kib: int | None) -> float | None:
    return None if kib is None else round(kib / 1024, 1)


def _utc(text: str) -> datetime.datetime:
    """chrono's RFC 3339 time (nanoseconds) as Python reads it (microseconds)."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    return datetime.datetime.fromisoformat(f"{whole}.{(fraction + '000000')[:6]}+00:00")


def phases(samples: list[tuple[datetime.datetime, int, int]], timing: dict[str, str] | None) -> dict[str, Any]:
    """Peak memory by phase, from the test's own times: VmHWM at the end of validation, the
    largest VmRSS seen while validating and while deleting the copy, and VmHWM at exit."""
    figures: dict[str, Any] = {"peak_mib": _mib(max((s[2] for s in samples), default=None))}
    if not timing or not samples:
        return figures
    restored, validated = _utc(timing["restore_completed"]), _utc(timing["validated"])
    upto = [s for s in samples if s[0] <= validated]
    figures["peak_through_validation_mib"] = _mib(max((s[2] for s in upto), default=None))
    figures["rss_at_restore_completed_mib"] = _mib(max((s[1] for s in samples if s[0] <= restored), default=None))
    figures["rss_validating_max_mib"] = _mib(max((s[1] for s in samples if restored <= s[0] <= validated), default=None))
    figures["rss_deleting_copy_max_mib"] = _mib(max((s[1] for s in samples if s[0] > validated), default=None))
    figures["validation_seconds"] = round((validated - restored).total_seconds(), 1)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="a running local AWS; it is reset first")
    parser.add_argument("--bulwark", required=True, help="the CLI binary")
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=32, help="bytes an object")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--table", default="bulwark-s3bench")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.update(AWS_ENDPOINT_URL=args.endpoint, BULWARK_TABLE=args.table, BULWARK_REGIONS=args.region)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    os.environ.setdefault("AWS_REGION", args.region)
    estate.reset(args.endpoint)
    account = boto3.client("sts", region_name=args.region, endpoint_url=args.endpoint).get_caller_identity()["Account"]
    bucket = f"bulwark-s3bench-{args.objects}"
    arn = f"arn:aws:s3:::{bucket}"

    seeded = seed(args.endpoint, account, args.region, bucket, args.objects, args.size)
    protected = protect(args.endpoint, args.bulwark, account, args.region, arn)
    run = measured([args.bulwark, "restore-test", "--arn", arn, "--format", "json"])
    answer = json.loads(run["stdout"]) if run.get("stdout", "").strip() else {}
    test = (answer.get("tests") or [{}])[0]
    calls = answer.get("calls", {})
    figures = {
        "objects": args.objects,
        "object_bytes": args.size,
        "seed_seconds": round(seeded, 1),
        "protect_and_backup_seconds": round(protected, 1),
        "wall_seconds": round(run["wall_seconds"], 1),
        **phases(run["samples"], test.get("timing")),
        "samples": len(run["samples"]),
        "passed": bool(test.get("passed")),
        "cleaned_up": bool(test.get("cleaned_up")),
        "findings": test.get("findings", []),
        "error": test.get("error") or (None if run["status"] == 0 else run.get("stderr", "")[-2000:]),
        "calls": sum(calls.values()),
        "calls_by_operation": dict(sorted(calls.items())),
    }
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    else:
        print(f"{args.objects} objects of {args.size} bytes: seeded in {figures['seed_seconds']} s, "
              f"protected and backed up in {figures['protect_and_backup_seconds']} s")
        print(f"restore-test: {'PASSED' if figures['passed'] else 'FAILED'}, copy {'deleted' if figures['cleaned_up'] else 'LEFT BEHIND'}, "
              f"wall {figures['wall_seconds']} s (validation {figures.get('validation_seconds')} s)")
        print(f"peak RSS {figures['peak_mib']} MiB; through validation {figures.get('peak_through_validation_mib')} MiB "
              f"(RSS while validating at most {figures.get('rss_validating_max_mib')} MiB, "
              f"while deleting the copy {figures.get('rss_deleting_copy_max_mib')} MiB)")
        print(f"{figures['calls']} AWS calls: " + ", ".join(f"{op} {n}" for op, n in figures["calls_by_operation"].items()))
        for finding in figures["findings"]:
            print(f"finding: {finding}")
        if figures["error"]:
            print(f"error: {figures['error']}")
    return 0 if figures["passed"] and figures["cleaned_up"] else 1


if __name__ == "__main__":
    sys.exit(main())
