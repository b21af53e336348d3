"""The deployed bench's reading of the sweep's output (infra/local/deployed_bench.py), against
the output the discover-classify state machine's definition gives. `make bench` runs the bench."""

from __future__ import annotations

import json
from pathlib import Path

import deployed_bench as bench

DEFINITION = Path(__file__).resolve().parents[3] / "infra" / "aws" / "statemachine" / "discover-classify.asl.json"


def test_the_sweep_line_reads_the_shards_the_state_machine_outputs() -> None:
    # The definition's shard results: the fields the bench sums are the ones its Pass states keep
    states = json.loads(DEFINITION.read_text())["States"]["Sweep"]["ItemProcessor"]["States"]
    assert set(states["ShardDone"]["Parameters"]) == {"failed", "seen.$", "written.$"}
    assert {"failed", "failures.$"} <= set(states["ShardNotWritten"]["Parameters"])
    assert json.loads(DEFINITION.read_text())["States"]["Sweep"]["ResultPath"] == "$.shards"

    outcome = {
        "plan": {"shards": [{}, {}, {}, {}], "failures": ["111122223333/eu-west-1: throttled"]},
        "shards": [
            {"failed": False, "seen": 2500, "written": 2500},
            {"failed": False, "seen": 2400, "written": 0},
            {"failed": True, "error": "ServiceUnavailable"},
            {"failed": False, "seen": 100, "written": 3, "scopes": [], "failures": []},
        ],
    }
    assert bench.sweep_summary(outcome) == (
        "4 shards, 5000 stores seen, 2503 written, 1 shards failed, 1 scopes not planned"
    )
    assert bench.sweep_summary({}) == "0 shards, 0 stores seen, 0 written, 0 shards failed, 0 scopes not planned"
