"""``crossorigin check`` end to end: real uvicorn servers on 127.0.0.1.

One server hosts a crossorigin-protected Starlette app and a row of deliberately
misconfigured tiny ASGI apps (one per common mistake, by path prefix); a second server, on
another port and so another origin, is the target of cross-origin redirects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from crossorigin.browser import CHROMIUM, FIREFOX, SPEC, WEBKIT, Request, TransportError
from crossorigin.tools import cli
from crossorigin.tools.check import Report, UsageError, check

from .cors_apps import JSON, Router, serve

pytestmark = pytest.mark.server

ORIGIN = "https://app.example"


ROUTERS: list[Router] = []


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    router_a, router_b = Router(ORIGIN), Router(ORIGIN)
    ROUTERS[:] = [router_a, router_b]
    a = serve(router_a)
    b = serve(router_b)
    router_a.other_origin = b[2]
    router_b.other_origin = a[2]
    yield a[2], b[2]
    for server, thread, _ in (a, b):
        server.should_exit = True
        thread.join(timeout=5)


@pytest.fixture
def base(servers: tuple[str, str]) -> str:
    return servers[0]


def codes(report: Report) -> list[str]:
    return [c.code for c in report.outcome.failures]


def warnings(report: Report) -> list[str]:
    return [a.code for a in report.advice]


# --- against crossorigin --------------------------------------------------------------------------


def test_protected_simple_request_is_allowed(base: str) -> None:
    report = check(Request(f"{base}/good/items", ORIGIN))
    assert report.allowed
    assert [s.kind for s in report.outcome.steps] == ["request"]
    assert report.outcome.readable_header_names == (
        "content-length",
        "content-type",
        "x-request-id",
    )
    assert warnings(report) == []  # crossorigin neither reflects nor grants 'null'


def test_protected_preflighted_credentialed_request_is_allowed(base: str) -> None:
    request = Request(
        f"{base}/good/items",
        ORIGIN,
        "put",
        (("Content-Type", "application/json"), ("Authorization", "Bearer t")),
        credentials=True,
    )
    report = check(request)
    assert report.allowed
    preflight, actual = report.outcome.steps
    assert preflight.kind == "preflight"
    sent = dict(preflight.request.headers)
    assert sent["Access-Control-Request-Method"] == "PUT"
    assert sent["Access-Control-Request-Headers"] == "authorization,content-type"
    assert "Cookie" not in sent
    assert actual.response.status == 200
    assert report.outcome.preflight_cache_seconds == 600


def test_protected_refusal_is_diagnosed(base: str) -> None:
    request = Request(f"{base}/good/items", ORIGIN, "PUT", (("X-Api-Key", "k"),))
    report = check(request)
    assert not report.allowed
    assert [c.option for c in report.outcome.failures] == ["add 'X-Api-Key' to allow_headers"]


def test_protected_refuses_unknown_origin(base: str) -> None:
    report = check(Request(f"{base}/good/items", "https://evil.example"))
    assert not report.allowed
    assert report.outcome.failures[0].option == "add 'https://evil.example' to allow_origins"


def test_public_api(base: str) -> None:
    assert check(Request(f"{base}/public/items", ORIGIN)).allowed
    report = check(Request(f"{base}/public/items", ORIGIN, credentials=True))
    assert codes(report) == ["allow-origin", "allow-credentials"]


# --- against the common mistakes -------------------------------------------------------------


def test_no_cors_at_all(base: str) -> None:
    assert codes(check(Request(f"{base}/none", ORIGIN))) == ["allow-origin"]
    report = check(Request(f"{base}/none", ORIGIN, "DELETE"))
    assert codes(report) == ["preflight-status", "allow-origin"]
    assert "no OPTIONS handler" in report.outcome.failures[0].cause
    assert report.outcome.diagnosis == ()  # a 405 says enough


def test_star_with_credentials(base: str) -> None:
    assert check(Request(f"{base}/star-credentials", ORIGIN)).allowed
    report = check(Request(f"{base}/star-credentials", ORIGIN, credentials=True))
    assert codes(report) == ["allow-origin"]
    assert "exact origin" in report.outcome.failures[0].cause


def test_trailing_slash_origin(base: str) -> None:
    report = check(Request(f"{base}/trailing-slash", ORIGIN))
    assert codes(report) == ["allow-origin"]
    assert "trailing slash" in report.outcome.failures[0].cause


def test_authorization_missing_from_allow_headers(base: str) -> None:
    ok = check(Request(f"{base}/no-authorization", ORIGIN, "PUT", (JSON,)))
    assert ok.allowed
    report = check(Request(f"{base}/no-authorization", ORIGIN, "PUT", (("Authorization", "t"),)))
    assert codes(report) == ["allow-headers"]
    assert report.outcome.failures[0].option == "add 'Authorization' to allow_headers"
    assert [s.kind for s in report.outcome.steps] == ["preflight"]


def test_two_acao_headers(base: str) -> None:
    report = check(Request(f"{base}/two-acao", ORIGIN))
    assert codes(report) == ["allow-origin"]
    assert "2 Access-Control-Allow-Origin headers" in report.outcome.failures[0].summary


def test_preflight_that_redirects(base: str) -> None:
    report = check(Request(f"{base}/redirecting-preflight", ORIGIN, "PUT"))
    assert codes(report) == ["preflight-status", "allow-origin"]
    assert "redirect" in report.outcome.failures[0].cause


def test_reflecting_server_is_flagged(base: str) -> None:
    report = check(Request(f"{base}/reflect", ORIGIN, "PUT", credentials=True))
    assert report.allowed
    assert warnings(report) == [
        "max-age-cap",
        "vary-origin",
        "reflects-any-origin",
        "null-allowed",
    ]
    probe_origins = [dict(sent.headers)["Origin"] for sent, _ in report.probes]
    assert probe_origins[1] == "null"
    assert probe_origins[0].startswith("https://crossorigin-check-")
    assert all(sent.method == "OPTIONS" for sent, _ in report.probes)  # never a second PUT
    unprobed = check(Request(f"{base}/reflect", ORIGIN), probes=False)
    assert warnings(unprobed) == ["vary-origin"]
    assert unprobed.probes == ()


@pytest.mark.parametrize(
    ("profile", "allowed"), [(CHROMIUM, True), (SPEC, False), (FIREFOX, True), (WEBKIT, True)]
)
def test_wildcard_and_authorization_per_browser(base: str, profile: Any, allowed: bool) -> None:
    request = Request(f"{base}/wildcard", ORIGIN, "PATCH", (("Authorization", "t"),))
    report = check(request, profile=profile)
    assert report.allowed is allowed
    if allowed:
        assert "wildcard-authorization" in warnings(report)
    else:
        assert codes(report) == ["allow-headers"]


def test_cross_origin_redirect_sends_null(servers: tuple[str, str]) -> None:
    a, b = servers
    report = check(Request(f"{a}/to-b", ORIGIN))
    assert report.allowed
    steps = report.outcome.steps
    assert [dict(s.request.headers)["Origin"] for s in steps] == [ORIGIN, "null"]
    assert steps[1].request.url == f"{b}/granted-null"
    assert "origin-null-after-redirect" in warnings(report)


# --- the command -------------------------------------------------------------------------------


def run_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    # Only this tool: the CLI imports every registered tool to build its parser.
    monkeypatch.setattr(cli, "TOOLS", {"check": cli.TOOLS["check"]})
    return cli.main(["check", *argv])


def test_cli_report_and_exit_status(
    base: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    status = run_cli(
        [f"{base}/no-authorization", "--origin", ORIGIN, "-X", "PUT", "-H", "Authorization: t"],
        monkeypatch,
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "\x1b[" not in out  # not a terminal: plain text
    assert "✗ 1. preflight OPTIONS" in out
    assert "> Access-Control-Request-Headers: authorization" in out
    assert "crossorigin: add 'Authorization' to allow_headers" in out
    assert "BLOCKED" in out

    assert run_cli([f"{base}/good/items", "--origin", ORIGIN], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "ALLOWED" in out
    assert (
        "Script can read these response headers: content-length, content-type, x-request-id" in out
    )


def test_cli_colour_only_on_terminals_without_no_color(
    base: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [f"{base}/trailing-slash", "--origin", ORIGIN, "--no-probe"]
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich: behave as on a terminal
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert run_cli(argv, monkeypatch) == 1
    coloured = capsys.readouterr().out
    assert "\x1b[" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    assert run_cli(argv, monkeypatch) == 1
    plain = capsys.readouterr().out
    assert "\x1b[" not in plain
    assert "trailing slash" in plain


def test_cli_json(
    base: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run_cli(
        [f"{base}/trailing-slash", "--origin", ORIGIN, "--json", "--browser", "firefox"],
        monkeypatch,
    )
    verdict = json.loads(capsys.readouterr().out)
    assert status == 1
    assert verdict["verdict"] == "blocked"
    assert verdict["browser"] == "firefox"
    assert verdict["failures"][0]["code"] == "allow-origin"
    assert verdict["failures"][0]["fix"] == f"Access-Control-Allow-Origin: {ORIGIN}"
    assert verdict["steps"][0]["response"]["status"] == 200


def test_cli_webkit_rules(
    base: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # WebKit, like every engine measured, lets '*' cover Authorization; the standard does not.
    argv = [f"{base}/wildcard", "--origin", ORIGIN, "-X", "PATCH", "-H", "Authorization: t"]
    assert run_cli([*argv, "--json", "--browser", "webkit"], monkeypatch) == 0
    assert json.loads(capsys.readouterr().out)["browser"] == "webkit"
    assert run_cli([*argv, "--json", "--browser", "spec"], monkeypatch) == 1


def test_cli_could_not_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A port nothing listens on: bind one, note it, close it.
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status = run_cli(
        [f"http://127.0.0.1:{port}/", "--origin", ORIGIN, "--timeout", "2"], monkeypatch
    )
    assert status == 2
    assert "could not check" in capsys.readouterr().err
    with pytest.raises(TransportError):
        check(Request(f"http://127.0.0.1:{port}/", ORIGIN), timeout=2)


@pytest.mark.parametrize(
    "argv",
    [
        ["http://127.0.0.1:1/", "--origin", "https://app.example/"],
        ["http://127.0.0.1:1/", "--origin", ORIGIN, "-H", "Cookie: a=b"],
        ["http://127.0.0.1:1/", "--origin", ORIGIN, "-H", "no colon"],
        ["ftp://127.0.0.1:1/", "--origin", ORIGIN],
        ["http://127.0.0.1:1/", "--origin", ORIGIN, "-X", "TRACE"],
        ["http://127.0.0.1:1/", "--origin", ORIGIN, "--timeout", "0"],
        ["http://127.0.0.1:1/", "--origin", ORIGIN, "-H", "X-Name: Łukasz"],
        ["http://127.0.0.1:1/", "--origin", ORIGIN, "-H", "X-A: a\rb"],
    ],
)
def test_cli_bad_arguments(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli([*argv, "--json"], monkeypatch) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["verdict"] == "error"
    assert "could not check" in captured.err


def test_usage_error_from_the_api() -> None:
    with pytest.raises(UsageError, match="forbidden header"):
        check(Request("http://127.0.0.1:1/", ORIGIN, headers=(("Host", "x"),)))


# --- the fixes found trying it as a new user --------------------------------------------------


@pytest.mark.parametrize("url", ["http://[::1", "http://[zz]/", "http://127.0.0.1:99999/"])
def test_cli_malformed_url_is_one_line_and_exit_2(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli([url, "--origin", ORIGIN], monkeypatch) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("crossorigin check: could not check: URL")
    assert run_cli([url, "--origin", ORIGIN, "--json"], monkeypatch) == 2
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["verdict"] == "error"
    assert url in verdict["error"]


def test_lowercase_method_goes_on_the_wire_as_fetch_sends_it(base: str) -> None:
    report = check(Request(f"{base}/method/x", ORIGIN, "patch"))
    assert report.allowed
    preflight, actual = report.outcome.steps
    assert dict(preflight.request.headers)["Access-Control-Request-Method"] == "patch"
    assert actual.request.method == "patch"
    assert dict(report.outcome.readable_headers)["x-seen-method"] == "patch"
    # fetch() upper-cases the six well-known methods only.
    report = check(Request(f"{base}/method/x", ORIGIN, "delete"))
    assert dict(report.outcome.readable_headers)["x-seen-method"] == "DELETE"


def test_url_with_credentials_is_blocked_as_fetch_throws(base: str) -> None:
    _, _, hostport = base.partition("://")
    report = check(Request(f"http://user:pw@{hostport}/public/items", ORIGIN))
    assert not report.allowed
    assert report.outcome.steps == ()
    assert codes(report) == ["url-credentials"]
    assert "TypeError" in report.outcome.failures[0].cause


def test_url_with_credentials_on_the_command_line(
    base: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, hostport = base.partition("://")
    assert run_cli([f"http://user@{hostport}/public/items", "--origin", ORIGIN], monkeypatch) == 1
    out = capsys.readouterr().out
    assert "fetch() throws" in out
    assert "ALLOWED" not in out


def test_path_without_a_cors_layer_gets_the_right_hint(base: str) -> None:
    (failure,) = check(Request(f"{base}/none", ORIGIN)).outcome.failures
    assert "nothing on this path answers CORS" in failure.cause
    assert "allow_origins" not in failure.option
    # A CORS layer that refuses the origin still answers (Vary: Origin): then the origin it is.
    (failure,) = check(Request(f"{base}/good/items", "https://evil.example")).outcome.failures
    assert failure.option == "add 'https://evil.example' to allow_origins"


def test_unsafe_methods_stop_after_the_preflight_unless_sent(
    base: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    router = ROUTERS[0]
    router.seen.clear()
    status = run_cli([f"{base}/method/x", "--origin", ORIGIN, "-X", "DELETE"], monkeypatch)
    out = capsys.readouterr().out
    assert status == 0
    assert "PREFLIGHT PASSED" in out
    assert "pass --send" in out
    assert ("DELETE", "/method/x") not in router.seen
    assert ("OPTIONS", "/method/x") in router.seen
    router.seen.clear()
    status = run_cli(
        [f"{base}/method/x", "--origin", ORIGIN, "-X", "DELETE", "--send", "--no-probe"],
        monkeypatch,
    )
    assert status == 0
    assert "ALLOWED" in capsys.readouterr().out
    assert router.seen == [("OPTIONS", "/method/x"), ("DELETE", "/method/x")]


def test_a_simple_post_is_not_sent_without_send(
    base: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    router = ROUTERS[0]
    router.seen.clear()
    status = run_cli([f"{base}/method/x", "--origin", ORIGIN, "-X", "POST", "--json"], monkeypatch)
    verdict = json.loads(capsys.readouterr().out)
    assert status == 2
    assert verdict["verdict"] == "not-checked"
    assert verdict["request_sent"] is False
    assert router.seen == []


def test_reflection_with_credentials_is_a_critical_finding(
    base: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    report = check(Request(f"{base}/reflect", ORIGIN, credentials=True))
    assert [a.code for a in report.critical] == ["reflects-any-origin", "null-allowed"]
    assert "dangerously_reflect_any_origin" in report.critical[0].fix
    run_cli([f"{base}/reflect", "--origin", ORIGIN, "--credentials"], monkeypatch)
    out = capsys.readouterr().out
    assert "Critical findings" in out
    assert "!! CRITICAL: the server reflects an arbitrary origin" in out
    # Without credentials a reflection is a warning, not a critical finding.
    assert check(Request(f"{base}/public/items", ORIGIN)).critical == ()


def test_missing_tools_extra_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "httpx", None)  # import httpx -> ModuleNotFoundError
    status = run_cli(["http://127.0.0.1:1/", "--origin", ORIGIN], monkeypatch)
    assert status == 2
    err = capsys.readouterr().err
    assert "pip install 'crossorigin[tools]'" in err
    assert "Traceback" not in err


def test_help_lists_only_real_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "protect" not in out
    for name in cli.TOOLS:
        assert name in out


def test_crossorigin_dangerous_reflect_option_is_a_critical_finding() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route

    from crossorigin.asgi import CORSMiddleware

    from .cors_apps import items

    app = CORSMiddleware(
        Starlette(routes=[Route("/items", items)]),
        dangerously_reflect_any_origin=True,
        allow_credentials=True,
    )
    server, thread, base = serve(app)
    try:
        report = check(Request(f"{base}/items", ORIGIN, credentials=True))
        assert report.allowed
        assert [a.code for a in report.critical] == ["reflects-any-origin", "null-allowed"]
        assert "dangerously_reflect_any_origin=True" in report.critical[0].fix
        assert "vary-origin" not in warnings(report)  # the option always sends Vary: Origin
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def test_wildcard_headers_with_credentials_explains_crossorigin_echo(base: str) -> None:
    request = Request(f"{base}/wildcard", ORIGIN, "PATCH", (("X-A", "1"),), credentials=True)
    failures = check(request, probes=False).outcome.failures
    causes = " ".join(f.cause for f in failures)
    assert "crossorigin's allow_headers=['*'] answers with the requested names" in causes
    assert "crossorigin's allow_methods=['*'] answers with the requested method" in causes
