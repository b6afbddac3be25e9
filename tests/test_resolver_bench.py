"""The resolver benchmark's scenarios behave as the resolver promises (counts, never
timings): a quick run through real servers, ASGI and WSGI, sync and async callables."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import require

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.server
def test_resolver_scenarios_through_real_servers(tmp_path: Path) -> None:
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.resolver_bench", "--quick", "--output", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads((tmp_path / "resolver-latest.json").read_text())
    shared = results.pop("replicas")
    assert shared["removal_seen_by_both_ms_max"] < float("inf")  # every removal was seen
    assert set(results) == {"asgi/sync", "asgi/async", "wsgi/sync", "wsgi/async"}
    for name, result in results.items():
        stampede, flood, outage = result["stampede"], result["flood"], result["outage"]
        assert (stampede["calls"], stampede["granted"]) == (1, 100), name
        # At most one call per distinct unknown origin, none again for the tenants.
        assert flood["calls"] <= flood["unknown_origins"], name
        assert flood["extra_tenant_calls"] == 0, name
        assert flood["flood_granted"] == 0, name
        granted, total = map(int, flood["tenants_granted_during"].split("/"))
        assert granted == total > 0, name
        granted, total = map(int, outage["tenants_granted"].split("/"))
        assert granted == total > 0, name
        refused, total = map(int, outage["unknown_refused"].split("/"))
        assert refused == total > 0, name
        assert outage["db_calls_after_load_stopped"] == 0, name
        assert outage["warning_lines"] <= 3, name
