"""``crossorigin explain``: the quoted corpus (Firefox, Safari, Chromium's network-access
family), the command line, and robustness. Chromium's own messages are captured from the
real browser in ``test_explain_browser.py``."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossorigin.tools import cli
from crossorigin.tools.console import FAILURES, explain
from crossorigin.tools.console import Explanation as Reading

from .console_corpus import QUOTED, SCENARIOS, Quoted
from .cors_apps import Router, serve

ORIGIN = "https://app.example"


@pytest.mark.parametrize("sample", QUOTED, ids=lambda q: f"{q.engine}-{q.kind}")
def test_quoted_messages_are_read(sample: Quoted) -> None:
    found = explain(sample.message)
    assert len(found) == 1, sample.message
    (reading,) = found
    assert reading.engine == sample.engine
    assert reading.kind == sample.kind
    assert reading.step == sample.step
    assert reading.preflight is sample.preflight


def test_every_failure_kind_is_in_a_corpus() -> None:
    seen = {q.kind for q in QUOTED} | {k for s in SCENARIOS for k in s.kinds.values()}
    assert seen == set(FAILURES)


def test_fields_are_read_from_the_message() -> None:
    (reading,) = explain(
        "Access to fetch at 'https://api.example.com/v1/items' from origin "
        "'https://app.example.com' has been blocked by CORS policy: Response to preflight "
        "request doesn't pass access control check: Method patch is not allowed by "
        "Access-Control-Allow-Methods in preflight response."
    )
    assert (reading.url, reading.origin, reading.value) == (
        "https://api.example.com/v1/items",
        "https://app.example.com",
        "patch",
    )
    assert reading.check_command() == [
        "crossorigin",
        "check",
        "https://api.example.com/v1/items",
        "--origin",
        "https://app.example.com",
        "-X",
        "patch",
    ]
    assert "add 'patch' to allow_methods" in reading.option
    assert "allow_methods=['*']" in reading.option
    assert reading.command_complete


def test_firefox_mismatch_names_the_server_value_not_the_origin() -> None:
    (reading,) = explain(next(q.message for q in QUOTED if q.kind == "allow-origin-mismatch"))
    assert reading.value == "https://app.example.com/"
    assert reading.origin is None
    assert reading.notes
    assert reading.check_command() == [
        "crossorigin",
        "check",
        "https://api.example.com/items",
        "--origin",
        "ORIGIN",
    ]
    assert not reading.command_complete


def test_safari_takes_the_url_from_its_summary_line() -> None:
    (reading,) = explain(
        "Request header field Authorization is not allowed by Access-Control-Allow-Headers.\n"
        "Fetch API cannot load https://api.example.com/me due to access control checks."
    )
    assert reading.url == "https://api.example.com/me"
    assert reading.value == "Authorization"


def test_several_pasted_lines_give_each_failure_once() -> None:
    message = (
        "Access to fetch at 'https://a.example/x' from origin 'https://b.example' has been "
        "blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the "
        "requested resource.\nGET https://a.example/x net::ERR_FAILED 200 (OK)\n"
    )
    assert [r.kind for r in explain(message * 2)] == ["missing-allow-origin"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "TypeError: Failed to fetch",
        "Uncaught ReferenceError: x is not defined",
        "Access to fetch at 'https://a/' from origin 'https://b' has been blocked by CORS "
        "policy: something Chromium has never said.",
        "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote "
        "resource at https://a/. (Reason: a reason Firefox does not have).",
        "Refused to load the script because it violates the Content Security Policy",
    ],
)
def test_unknown_messages_are_not_guessed(text: str) -> None:
    assert explain(text) == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_raises(text: str) -> None:
    for reading in explain(text):
        assert isinstance(reading, Reading)
        assert reading.why
        assert reading.fix
        assert reading.option


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(QUOTED), st.text(max_size=40), st.text(max_size=40))
def test_a_known_message_inside_other_text_is_still_read(
    sample: Quoted, before: str, after: str
) -> None:
    text = f"{before}\n{sample.message}\n{after}"
    kinds = {r.kind for r in explain(text)}
    assert sample.kind in kinds


# --- the command -------------------------------------------------------------------------------


def run_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(
        cli, "TOOLS", {k: v for k, v in cli.TOOLS.items() if k in ("check", "explain")}
    )
    return cli.main(["explain", *argv])


def test_cli_explains_from_an_argument(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    message = next(q.message for q in QUOTED if q.kind == "header-not-allowed")
    assert run_cli([message], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "failed step: the preflight: a request header is not allowed" in out
    assert "crossorigin: add 'X-Api-Key' to allow_headers" in out
    assert "reproduce:   crossorigin check https://api.example.com/items --origin ORIGIN" in out


def test_cli_reads_stdin_and_prints_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    message = next(q.message for q in QUOTED if q.kind == "private-network-missing")
    raw = b"\xff\xfe garbage\n" + message.encode() + b"\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    assert run_cli(["--json"], monkeypatch) == 0
    data = json.loads(capsys.readouterr().out)
    (error,) = data["errors"]
    assert error["kind"] == "private-network-missing"
    assert error["option"] == "set allow_private_network=True"
    assert error["check"][-1] == "--private-network"


def test_cli_unknown_message_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["TypeError: Failed to fetch"], monkeypatch) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "not a CORS error I know" in captured.err
    assert "has been blocked by CORS policy" in captured.err  # where the real reason is
    assert run_cli(["--json", "hello"], monkeypatch) == 2
    assert json.loads(capsys.readouterr().out)["explained"] is False


@pytest.fixture(scope="module")
def live() -> Iterator[str]:
    server, thread, base = serve(Router(ORIGIN))
    yield base
    server.should_exit = True
    thread.join(timeout=5)


def test_cli_run_runs_the_check(
    live: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    message = (
        f"Access to fetch at '{live}/trailing-slash' from origin '{ORIGIN}' has been blocked by "
        f"CORS policy: The 'Access-Control-Allow-Origin' header has a value '{ORIGIN}/' that is "
        "not equal to the supplied origin. Have the server send the header with a valid value."
    )
    assert run_cli([message, "--run"], monkeypatch) == 1  # check's verdict: blocked
    out = capsys.readouterr().out
    assert f"$ crossorigin check {live}/trailing-slash --origin {ORIGIN}" in out
    assert "trailing slash" in out  # the check's own diagnosis
    assert "BLOCKED" in out


def test_cli_run_refuses_an_incomplete_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    message = next(q.message for q in QUOTED if q.kind == "missing-allow-origin")
    assert run_cli([message, "--run"], monkeypatch) == 2
    assert "cannot --run" in capsys.readouterr().err
