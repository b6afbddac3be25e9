"""The benchmark's correctness checks pass for every contender (no timing is asserted).

``make bench`` refuses to time a contender whose answer a browser would treat differently
from what the scenario expects; this runs it with one loop per measurement so a change
that breaks a contender (or a check) is caught by the test suite, not at benchmark time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import PLAIN, Outcome, Request, Scenario, check_outcome
from benchmarks.scenarios import SCENARIO_KEYS

ROOT = Path(__file__).resolve().parents[2]


def test_every_contender_answers_every_scenario_correctly(tmp_path: Path) -> None:
    # A separate process: the benchmark configures Django's global settings, which must not
    # leak into other tests of this session.
    command = [sys.executable, "-m", "benchmarks", "--quick", "--loops", "1", "--repeats", "1"]
    completed = subprocess.run(
        [*command, "--output", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    printed = completed.stdout + completed.stderr
    assert completed.returncode == 0, printed
    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["errors"] == []
    assert set(results["groups"]) == {"ASGI", "WSGI", "Flask", "Django", "aiohttp"}
    for name, group in results["groups"].items():
        assert list(group["scenarios"]) == list(SCENARIO_KEYS), name
        for contender in group["contenders"]:
            for key, row in group["scenarios"].items():
                cell = row["cells"][contender["name"]]
                if contender["role"] in ("bare", "crossorigin"):
                    # crossorigin and the bare apps answer everything, and are timed.
                    assert cell["check"] == "ok", (name, contender["name"], key, cell)
                    assert cell["median_us"] > 0
                else:
                    assert cell["check"] in ("ok", "unsupported"), (contender["name"], key)
    assert [p.name for p in tmp_path.glob("bench-*.json")], "no timestamped result file"
    assert len(results["scaling"]["rows"]) == 4
    assert results["adversarial"]["retained_bytes_after_100_distinct_floods"] < 100_000
    assert "Targets (issue 7)" in printed


def _scenario(expect: str) -> Scenario:
    request = Request("GET", (("Origin", "https://app.example.com"),))
    return Scenario("k", "t", request, expect, config=PLAIN)  # type: ignore[arg-type]


def test_the_checks_reject_wrong_answers() -> None:
    """A check that accepts anything would make every figure meaningless."""
    granted = Outcome(200, {"access-control-allow-origin": ["https://app.example.com"]})
    wrong_origin = Outcome(200, {"access-control-allow-origin": ["https://evil.example.net"]})
    nothing = Outcome(200, {})
    assert check_outcome(granted, _scenario("allowed"), "allowed") is None
    assert check_outcome(wrong_origin, _scenario("allowed"), "allowed") is not None
    assert check_outcome(nothing, _scenario("allowed"), "allowed") is not None
    assert check_outcome(nothing, _scenario("refused"), "refused") is None
    assert check_outcome(granted, _scenario("refused"), "refused") is not None
    reflected = Outcome(200, {"access-control-allow-headers": ["x" * 100_000]})
    assert check_outcome(reflected, _scenario("robust"), "robust") is not None
