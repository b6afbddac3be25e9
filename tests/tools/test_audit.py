"""``crossorigin audit`` against the zoo: every misconfiguration found, nothing on good apps.

The zoo (``audit_zoo``) is a row of real servers on 127.0.0.1, one per class of dangerous
grant (several built with the incumbents' own settings), plus correctly configured
crossorigin apps that must yield no finding at all.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossorigin.tools import cli
from crossorigin.tools.audit import HostRateLimiter, Settings, audit, sarif_log
from crossorigin.tools.audit_probes import (
    RULES,
    make_target,
    plan,
    private_section_suffixes,
    registrable_domain,
)
from tests.conftest import free_port

from .audit_zoo import GOOD, TRUSTED, ZOO, Animal, running
from .cors_apps import Router, serve
from .sarif_schema import SARIF_SUBSET

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def zoo() -> Iterator[dict[str, Animal]]:
    with running(ZOO + GOOD) as animals:
        yield {animal.name: animal for animal in animals}


def _hosting(animal: Animal) -> tuple[str, ...]:
    return tuple(s for s in private_section_suffixes() if s.rsplit(".", 1)[-1] in animal.hosting)


def audit_animal(animal: Animal) -> Any:
    settings = Settings(origin=animal.origin, rate=0, concurrency=16, hosting=_hosting(animal))
    (report,) = asyncio.run(audit([animal.url], settings))
    return report


@pytest.mark.parametrize("name", [a.name for a in ZOO])
def test_each_misconfiguration_is_found(name: str, zoo: dict[str, Animal]) -> None:
    animal = zoo[name]
    report = audit_animal(animal)
    assert report.error is None
    assert report.failed_probes == 0
    assert {f.rule for f in report.findings} == animal.expected
    for finding in report.findings:
        rule = RULES[finding.rule]
        expected = rule.with_credentials if finding.credentials else rule.without_credentials
        if finding.rule != "header-injection":
            assert finding.severity == expected
        assert finding.exploit
        assert finding.url == animal.url


@pytest.mark.parametrize("name", [a.name for a in GOOD])
def test_correct_configurations_yield_no_finding(name: str, zoo: dict[str, Animal]) -> None:
    report = audit_animal(zoo[name])
    assert report.error is None
    assert report.at_least("low") == []
    assert {f.rule for f in report.notes} == zoo[name].expected


def test_crossorigin_dangerous_reflect_is_critical_and_recognised(zoo: dict[str, Animal]) -> None:
    report = audit_animal(zoo["crossorigin-dangerous-reflect"])
    assert [(f.rule, f.severity) for f in report.findings] == [
        ("reflect-any-origin", "critical"),
        ("null-origin", "critical"),
    ]
    assert report.dangerous_reflect
    assert not audit_animal(zoo["reflect-credentials"]).dangerous_reflect  # no Vary: Origin


def test_credentials_make_reflection_critical(zoo: dict[str, Animal]) -> None:
    with_credentials = {f.rule: f for f in audit_animal(zoo["reflect-credentials"]).findings}
    without = {f.rule: f for f in audit_animal(zoo["reflect-public"]).findings}
    assert with_credentials["reflect-any-origin"].severity == "critical"
    assert with_credentials["reflect-any-origin"].credentials
    assert "cookies" in with_credentials["reflect-any-origin"].exploit
    assert without["reflect-any-origin"].severity == "low"
    assert not without["reflect-any-origin"].credentials


def test_starlette_star_credentials_is_critical(zoo: dict[str, Animal]) -> None:
    """Starlette answers allow_origins=['*'] with credentials by reflecting the origin (older
    versions only when a Cookie came along, which is why GET probes carry one)."""
    (finding,) = [
        f
        for f in audit_animal(zoo["starlette-star-credentials"]).findings
        if f.rule != "null-origin"
    ]
    assert (finding.rule, finding.severity) == ("reflect-any-origin", "critical")


def test_hosting_suffixes_come_from_the_public_suffix_list() -> None:
    suffixes = private_section_suffixes()
    assert len(suffixes) > 3000
    assert {"github.io", "vercel.app", "herokuapp.com", "netlify.app"} <= set(suffixes)
    assert all("*" not in s and not s.startswith("!") for s in suffixes)
    target = make_target("https://api.example.com/me", "https://myapp.vercel.app")
    assert target.suffixes == ("vercel.app",)
    assert registrable_domain("www.target.example") == "target.example"
    assert registrable_domain("a.b.co.uk") == "b.co.uk"
    assert registrable_domain("127.0.0.1") == "127.0.0.1"


def test_the_default_hosting_probes_miss_what_they_are_not_told(zoo: dict[str, Animal]) -> None:
    animal = zoo["starlette-github-pages"]
    settings = Settings(origin=animal.origin, rate=0, concurrency=16)
    (report,) = asyncio.run(audit([animal.url], settings))
    assert report.findings == []  # github.io is not the site's own suffix
    found = audit_animal(animal).findings
    assert found[0].origin.endswith(".github.io")


def test_probes_are_only_get_and_preflights_without_bodies() -> None:
    router = Router(TRUSTED)
    server, thread, base = serve(router)
    try:
        asyncio.run(audit([f"{base}/none"], Settings(origin=TRUSTED, rate=0)))
        methods = {method for method, _ in router.seen}
        assert methods == {"GET", "OPTIONS"}
        router.seen.clear()
        asyncio.run(audit([f"{base}/none"], Settings(origin=TRUSTED, rate=0, method="HEAD")))
        assert {method for method, _ in router.seen} == {"HEAD", "OPTIONS"}
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def test_every_probe_is_get_head_or_a_preflight() -> None:
    for probe in plan(make_target("https://api.target.example/me", TRUSTED), ("github.io",)):
        sent = probe.request("https://api.target.example/me")
        assert sent.method in ("GET", "OPTIONS")
        assert ("Origin", probe.origin) in sent.headers


def test_concurrency_limit_holds() -> None:
    state = {"now": 0, "max": 0}

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        await asyncio.sleep(0.01)
        state["now"] -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    server, thread, base = serve(slow)
    try:
        urls = [f"{base}/{n}" for n in range(6)]
        reports = asyncio.run(audit(urls, Settings(origin=TRUSTED, rate=0, concurrency=3)))
        assert [r.url for r in reports] == urls
        assert all(r.error is None for r in reports)
        assert 1 <= state["max"] <= 3
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def test_rate_limiter_spaces_requests_per_host() -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))

    limiter = HostRateLimiter(4.0, clock=lambda: 100.0, sleep=fake_sleep)

    async def go() -> None:
        for host in ("a:1", "a:1", "a:1", "b:1", "a:1"):
            await limiter.wait(host)

    asyncio.run(go())
    # Host a: now, +0.25, +0.5, +0.75; host b unaffected by a.
    assert slept == [0.25, 0.5, 0.75]
    unlimited = HostRateLimiter(0, clock=lambda: 100.0, sleep=fake_sleep)
    slept.clear()
    asyncio.run(unlimited.wait("a:1"))
    assert slept == []


# --- output and the command ---------------------------------------------------------------------


def run_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(cli, "TOOLS", {"audit": cli.TOOLS["audit"]})
    return cli.main(["audit", *argv])


def test_cli_human_report_and_exit_status(
    zoo: dict[str, Animal], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    bad, good = zoo["flask-cors-regex-prefix"], zoo["crossorigin-credentials"]
    argv = ["--origin", TRUSTED, "--rate", "0"]
    assert run_cli([bad.url, good.url, *argv], monkeypatch) == 1
    out = capsys.readouterr().out
    assert "[HIGH] origins that merely start with the trusted host are trusted" in out
    assert "granted:  https://www.target.example.crossorigin-audit.example" in out
    assert "crossorigin: list exact origins in allow_origins" in out
    assert f"{good.url}: no finding" in out
    assert "audited 2 of 2 URLs" in out
    assert "\x1b[" not in out
    # The same findings do not fail a run that fails only on critical ones.
    assert run_cli([bad.url, *argv, "--fail-on", "critical"], monkeypatch) == 0
    capsys.readouterr()
    assert run_cli([good.url, *argv], monkeypatch) == 0


def test_cli_could_not_audit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    assert run_cli([f"http://127.0.0.1:{port}/", "--timeout", "2"], monkeypatch) == 2
    assert "could not audit" in capsys.readouterr().out
    assert run_cli(["http://[::1"], monkeypatch) == 2
    assert run_cli([], monkeypatch) == 2
    assert "no URL" in capsys.readouterr().err


def test_cli_json_lines_stream_one_object_per_url(
    zoo: dict[str, Animal],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = ["reflect-credentials", "no-vary", "crossorigin-public"]
    listing = tmp_path / "urls.txt"
    listing.write_text(
        "# targets\n" + "".join(f"{zoo[n].url}  # {n}\n" for n in names) + "\n", "utf-8"
    )
    status = run_cli(
        ["-i", str(listing), "--origin", TRUSTED, "--rate", "0", "--json"], monkeypatch
    )
    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert len(lines) == 3
    by_url = {item["url"]: item for item in map(json.loads, lines)}
    assert set(by_url) == {zoo[n].url for n in names}
    reflect = by_url[zoo["reflect-credentials"].url]
    assert reflect["findings"][0]["rule"] == "reflect-any-origin"
    assert reflect["findings"][0]["severity"] == "critical"
    assert reflect["findings"][0]["credentials"] is True
    assert by_url[zoo["crossorigin-public"].url]["findings"] == []


def test_cli_sarif_is_valid_sarif_2_1_0(
    zoo: dict[str, Animal], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = [zoo["reflect-credentials"].url, zoo["starlette-regex-dot"].url, "http://[::1"]
    status = run_cli([*urls, "--origin", TRUSTED, "--rate", "0", "--sarif"], monkeypatch)
    log = json.loads(capsys.readouterr().out)
    assert status == 1
    jsonschema.validate(log, SARIF_SUBSET)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["reflect-any-origin"] == "error"
    assert levels["missing-vary-origin"] == "warning"
    assert levels["preflight-echo-credentials"] == "note"
    assert run["invocations"][0]["executionSuccessful"] is False  # the malformed URL
    assert (
        "http://[::1" in run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    )


def test_sarif_without_findings_is_valid() -> None:
    jsonschema.validate(sarif_log([], "0"), SARIF_SUBSET)


def test_progress_bar_on_a_terminal(
    zoo: dict[str, Animal], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich: behave as on a terminal
    monkeypatch.delenv("NO_COLOR", raising=False)
    run_cli([zoo["crossorigin-public"].url, "--origin", TRUSTED, "--rate", "0"], monkeypatch)
    assert "auditing" in capsys.readouterr().out
    run_cli(
        [zoo["crossorigin-public"].url, "--origin", TRUSTED, "--rate", "0", "--no-progress"],
        monkeypatch,
    )
    assert "auditing" not in capsys.readouterr().out


# --- robustness -----------------------------------------------------------------------------------

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(LABEL, min_size=1, max_size=4),
    st.sampled_from(["http", "https"]),
    st.one_of(st.none(), st.integers(1, 65535)),
)
def test_no_probe_origin_is_the_trusted_origin(
    labels: list[str], scheme: str, port: int | None
) -> None:
    trusted = f"{scheme}://{'.'.join(labels)}" + (f":{port}" if port else "")
    target = make_target("https://api.example.net/me", trusted)
    for probe in plan(target, ("github.io",)):
        if probe.rule in ("baseline", "preflight-echo-credentials"):
            assert probe.origin == target.trusted
            continue
        # A grant to any other probe is a grant the site did not intend.
        assert probe.origin != target.trusted
        assert probe.origin.isascii()
        assert "\r" not in probe.origin
        assert "\n" not in probe.origin


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=60)))
def test_any_url_and_origin_either_plan_or_raise_value_error(url: str, origin: str | None) -> None:
    try:
        target = make_target(url, origin)
    except ValueError:
        return
    assert plan(target)


def test_idn_origins_are_probed_in_punycode() -> None:
    target = make_target("https://api.example.net/me", "https://www.bücher.example")
    assert target.trusted == "https://www.xn--bcher-kva.example"
    assert all(p.origin.isascii() for p in plan(target))
