"""The restore-test bench's own logic (infra/local/sfn_restore_bench.py): the INLINE copy of the
state machine's definition, and what counts as a passed run. `make bench` runs the bench."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sfn_restore_bench as bench

DEFINITION = Path(__file__).resolve().parents[3] / "infra" / "aws" / "statemachine" / "restore-test.asl.json"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:bulwark-restore-tests"


def test_the_inline_copy_changes_only_the_maps_mode_and_the_machine_select_names() -> None:
    original = json.loads(DEFINITION.read_text())
    copy = bench.inline_definition(original, MACHINE)
    assert copy["States"]["Tests"]["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
    assert copy["States"]["Select"]["Parameters"]["Payload"]["execution"]["state_machine"] == MACHINE
    assert "state_machine.$" not in copy["States"]["Select"]["Parameters"]["Payload"]["execution"]
    # The rest is the deployed definition, which is left as it was.
    assert original["States"]["Tests"]["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    for states in (copy["States"], original["States"]):
        states["Tests"]["ItemProcessor"].pop("ProcessorConfig")
        states["Select"]["Parameters"]["Payload"]["execution"].clear()
    assert copy == original


def finished(arn: str, passed: bool, error: str | None = None) -> dict[str, Any]:
    return {"status": "SUCCEEDED", "error": None, "cause": None,
            "output": {"arn": arn, "passed": passed, "error": error, "cleaned_up": True, "rto_seconds": 9}}


def figures(outcomes: list[dict[str, Any]], status: str = "SUCCEEDED", left: int = 0) -> dict[str, Any]:
    run = {"status": status, "selected": len(outcomes), "outcomes": outcomes}
    return {"run": run | {"verdicts": bench.verdicts(run)}, "left_behind": left}


def test_a_run_passes_only_when_every_test_passed_and_nothing_was_left() -> None:
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/rtb-critical-0000"
    assert bench.succeeded(figures([finished(table, True)] * 3))
    assert not bench.succeeded(figures([finished(table, True), finished(table, False, "no completed recovery point")]))
    assert not bench.succeeded(figures([finished(table, True)], left=1))
    assert not bench.succeeded(figures([finished(table, True)], status="FAILED"))
    unfinished = {"status": "FAILED", "error": "States.Runtime", "cause": "x", "output": None}
    run = figures([finished(table, True), unfinished])
    assert run["run"]["verdicts"]["unfinished_count"] == 1 and not bench.succeeded(run)

