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

from benchmarks.harness import CREDENTIALED, PLAIN, Outcome, Request, Scenario, check_outcome
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
    # Each framework's integration is a contender (the Flask and Django apps also keep the
    # generic WSGI middleware wrapped around them, for comparison).
    ours = {
        name: {c["name"] for c in group["contenders"] if c["role"] == "crossorigin"}
        for name, group in results["groups"].items()
    }
    assert ours == {
        "ASGI": {"crossorigin.asgi"},
        "WSGI": {"crossorigin.wsgi"},
        "Flask": {
            "crossorigin.flask CORS(app)",
            "Flask + crossorigin.wsgi (app.wsgi_app wrapped)",
        },
        "Django": {
            "crossorigin.django CorsMiddleware",
            "Django + crossorigin.wsgi (WSGIHandler wrapped)",
        },
        "aiohttp": {"crossorigin.aiohttp CORS(app)"},
    }
    targets = {target["target"] for target in results["targets"]}
    for wanted in (
        "Flask: Flask-CORS overhead ÷ crossorigin.flask's, simple-get",
        "Django: django-cors-headers overhead ÷ crossorigin.django's, simple-get",
        "aiohttp: aiohttp-cors overhead ÷ crossorigin.aiohttp's, simple-get",
    ):
        assert wanted in targets, wanted
    assert [p.name for p in tmp_path.glob("bench-*.json")], "no timestamped result file"
    assert len(results["scaling"]["rows"]) == 4
    assert results["adversarial"]["retained_bytes_after_100_distinct_floods"] < 100_000
    assert "Targets (issue 7)" in printed
    inputs = ["--input", str(tmp_path / "latest.json"), "--e2e", str(tmp_path / "none.json")]
    report = subprocess.run(
        [sys.executable, "-m", "benchmarks.report", "--no-plot", *inputs],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert report.returncode == 0, report.stderr
    assert "| Flask | **crossorigin.flask** |" in report.stdout
    assert "| aiohttp-cors vs crossorigin.aiohttp |" in report.stdout


def test_contenders_build_in_any_order(tmp_path: Path) -> None:
    """With one group chosen, the extras build every other group's contenders first-hand
    (Django's integration then comes before any bare Django app configured Django)."""
    command = [sys.executable, "-m", "benchmarks", "--quick", "--loops", "1", "--repeats", "1"]
    only = ["--group", "aiohttp", "--scenario", "no-origin", "--output", str(tmp_path)]
    completed = subprocess.run(
        [*command, *only],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads((tmp_path / "latest.json").read_text())
    assert "crossorigin.django CorsMiddleware" in results["adversarial"]["peak_bytes"]


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


def _preflight(request_headers: str, credentials: bool = False) -> Scenario:
    request = Request(
        "OPTIONS",
        (
            ("Origin", "https://app.example.com"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", request_headers),
        ),
    )
    config = CREDENTIALED if credentials else PLAIN
    return Scenario("k", "t", request, "preflight-allowed", config=config)


def test_the_preflight_check_rejects_wrong_answers() -> None:
    """The preflight judgment (crossorigin.browser, standard rules) refuses what browsers do."""
    origin = {"access-control-allow-origin": ["https://app.example.com"]}
    full = Outcome(
        204,
        origin
        | {
            "access-control-allow-methods": ["GET, PUT"],
            "access-control-allow-headers": ["content-type, x-request-id"],
        },
    )
    asked = _preflight("content-type, x-request-id")
    assert check_outcome(full, asked, "preflight-allowed") is None
    assert check_outcome(full, asked, "preflight-refused") is not None
    assert check_outcome(Outcome(403, full.headers), asked, "preflight-allowed") is not None
    no_method = Outcome(204, origin | {"access-control-allow-headers": ["*"]})
    assert check_outcome(no_method, asked, "preflight-allowed") is not None
    # A listed Content-Type was unsafe (say application/json): it must be allowed too.
    only_custom = Outcome(
        204,
        origin
        | {
            "access-control-allow-methods": ["PUT"],
            "access-control-allow-headers": ["x-request-id"],
        },
    )
    assert check_outcome(only_custom, asked, "preflight-allowed") is not None
    wildcard = Outcome(
        204, origin | {"access-control-allow-methods": ["*"], "access-control-allow-headers": ["*"]}
    )
    assert check_outcome(wildcard, _preflight("x-request-id"), "preflight-allowed") is None
    # The standard's rule, not Chromium's: '*' never covers Authorization.
    assert check_outcome(wildcard, _preflight("authorization"), "preflight-allowed") is not None
    # With credentials '*' is literal, and the grant must say so.
    credentialed = _preflight("x-request-id", credentials=True)
    assert check_outcome(wildcard, credentialed, "preflight-allowed") is not None
