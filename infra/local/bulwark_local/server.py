"""Serve the local AWS: moto in server mode with Bulwark's patches and extensions.

    python -m bulwark_local.server [--host 127.0.0.1] [--port 4566]

Extensions are modules under bulwark_local that define `install()`; each is installed
before the first request so that moto's URL maps include what it adds.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Set before moto reads its settings: EC2 would otherwise preload hundreds of AMI snapshots.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
# moto takes an automated snapshot of every DB instance and caps snapshots at 1000 a region;
# a benchmark estate has more instances than that.
os.environ.setdefault("MOTO_RDS_SNAPSHOT_LIMIT", "1000000")

EXTENSIONS = [
    "bulwark_local.backup",
    "bulwark_local.lambda_runtime",
    "bulwark_local.runtime_api",
    "bulwark_local.stepfunctions",
    "bulwark_local.eventbridge",
    "bulwark_local.alarm_events",
    "bulwark_local.iam",
    "bulwark_local.template",
    "bulwark_local.deploy",
    "bulwark_local.config_query",
    "bulwark_local.config_rules",
    "bulwark_local.global_tables",
    "bulwark_local.item_counts",
    "bulwark_local.dynamodb_backup_api",
    "bulwark_local.dynamodb_pitr",
    "bulwark_local.s3_etags",
    "bulwark_local.s3_listing",
    "bulwark_local.s3_bulk",
    "bulwark_local.s3_object_lock",
    "bulwark_local.s3_replication",
    "bulwark_local.backup_policies",
    "bulwark_local.route53_rules",
]


def install_all() -> list[str]:
    from bulwark_local import patches

    patches.apply()
    installed = []
    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        module.install()
        installed.append(name)
    return installed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_AWS_PORT", "4566")))
    args = parser.parse_args(argv)

    # moto's Step Functions interpreter calls back to localhost:$MOTO_PORT for its tasks.
    os.environ["MOTO_PORT"] = str(args.port)
    installed = install_all()
    from werkzeug.serving import run_simple

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    from bulwark_local import backup_events, concurrency, faults, iam, recovery_control, validation

    # Middlewares, outermost first: fault injection answers before anything else looks at a
    # request; validation refuses what AWS would refuse for its shape; from then on the
    # request holds its service backend's lock (concurrency.py), so that what IAM reads and
    # what moto answers are never another request's half-made change; IAM refuses what the
    # caller's role does not allow (it needs a well-formed request to name the resources),
    # and CloudTrail, in front of it, records AWS Backup's write calls, refused or not, for the
    # event bus (backup_events.py); ARC's two APIs, which moto lacks, are answered there; only
    # then does moto see it.
    moto_app = DomainDispatcherApplication(create_backend_app)
    app = faults.wrap(
        validation.wrap(concurrency.wrap(backup_events.wrap(iam.wrap(recovery_control.wrap(moto_app)))))
    )
    print(f"local AWS on http://{args.host}:{args.port} (extensions: {', '.join(installed) or 'none'})", flush=True)
    run_simple(
        args.host,
        args.port,
        app,
        threaded=True,
        use_reloader=False,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    sys.exit(main())
