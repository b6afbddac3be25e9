"""The suite's own machinery, without a browser: WebKit's loopback proxy, message normalising,
the console corpus file, the engine table's consistency."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .console_corpus import CONSOLE_MESSAGES, CorpusEntry, dump, entries, load
from .deviations import DEVIATIONS, deviates
from .engines import ENGINES, LoopbackProxy, normalise_message
from .harness import ConsoleRecord


@pytest.fixture
def proxy() -> Iterator[LoopbackProxy]:
    running = LoopbackProxy()
    yield running
    running.close()


def _raw_server(answer: bytes) -> tuple[socket.socket, list[bytes]]:
    """A one-shot server on 127.0.0.1 that records the request and sends ``answer``."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    seen: list[bytes] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            data = b""
            while b"\r\n\r\n" not in data:
                data += connection.recv(65536)
            seen.append(data)
            connection.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return listener, seen


def _through(proxy: LoopbackProxy, method: str, url: str) -> http.client.HTTPResponse:
    host, port = proxy.address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request(method, url, headers={"Origin": "http://a.app.test:1"})
    return connection.getresponse()


def test_proxy_sends_any_host_to_loopback_unchanged(proxy: LoopbackProxy) -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: http://a.app.test:1\r\n"
        b"Access-Control-Allow-Origin: *\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    )
    listener, seen = _raw_server(answer)
    with listener:
        port = listener.getsockname()[1]
        response = _through(proxy, "patch", f"http://api.app.test:{port}/r/x?q=1")
        assert response.status == 200
        # Both grants survive: two Access-Control-Allow-Origin headers must reach the browser.
        assert response.headers.get_all("Access-Control-Allow-Origin") == [
            "http://a.app.test:1",
            "*",
        ]
        assert response.read() == b"ok"
    request_line, _, headers = seen[0].partition(b"\r\n")
    # The method as the page wrote it, the path only, the Host and Origin untouched.
    assert request_line == b"patch /r/x?q=1 HTTP/1.1"
    assert f"Host: api.app.test:{port}".encode() in headers
    assert b"Origin: http://a.app.test:1" in headers


def test_proxy_keeps_a_chunked_answer_without_content_length(proxy: LoopbackProxy) -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
    )
    listener, _ = _raw_server(answer)
    with listener:
        response = _through(proxy, "GET", f"http://127.0.0.1:{listener.getsockname()[1]}/")
        assert response.getheader("Content-Length") is None
        assert response.read() == b"hello"


def test_normalised_messages_name_no_port() -> None:
    url = "http://127.0.0.1:41234/r/abc/data"
    origin = "http://127.0.0.1:5555"
    chromium = (
        f"Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS policy: "
        "The 'Access-Control-Allow-Origin' header has a value 'http://127.0.0.1:6666' that "
        "is not equal to the supplied origin."
    )
    assert normalise_message(chromium, url, origin) == (
        "Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS policy: "
        "The 'Access-Control-Allow-Origin' header has a value '{other-origin}' that is not "
        "equal to the supplied origin."
    )
    firefox = (
        f"Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote "
        f"resource at {url}. (Reason: CORS header ‘Access-Control-Allow-Origin’ does not "
        f"match ‘{origin}/’)."
    )
    assert "5555" not in normalise_message(firefox, url, origin)
    assert "{url}" in normalise_message(firefox, url, origin)


def test_corpus_round_trip(tmp_path: Path) -> None:
    records = [
        ConsoleRecord(
            "firefox", "t::a", "PUT", ("x-a",), True, True, "TypeError: x", ("m1", "m2"), ("c",)
        ),
        ConsoleRecord("webkit", "t::b", "GET", (), False, True, "TypeError: y", (), ("c", "d")),
        ConsoleRecord(
            "firefox", "t::c", "GET", (), False, True, "TypeError: x", ("m1",), ("c",)
        ),  # the same message and cause again: one entry
    ]
    found = entries(records)
    assert [(e.engine, e.message, e.failures) for e in found] == [
        ("firefox", "m1", ("c",)),
        ("firefox", "m2", ("c",)),
        ("webkit", "", ("c", "d")),
    ]
    assert found[0].example == "PUT x-a credentials (t::a)"
    path = tmp_path / "corpus.json"
    dump(found, {"Firefox": "1"}, path)
    assert [e for engine in load(path).values() for e in engine] == found


def test_committed_corpus_covers_every_engine() -> None:
    assert set(CONSOLE_MESSAGES) == set(ENGINES)
    for engine, found in CONSOLE_MESSAGES.items():
        blocked = [e for e in found if e.error]
        assert blocked, engine
        assert all(isinstance(e, CorpusEntry) and e.error.startswith("TypeError") for e in blocked)
        assert all("127.0.0.1:" not in e.message for e in found), engine
    # Chromium and Firefox messages are read from the browser; WebKit's console is not.
    assert all(e.message for e in CONSOLE_MESSAGES["chromium"])
    assert any("Cross-Origin Request Blocked" in e.message for e in CONSOLE_MESSAGES["firefox"])


def test_the_table_is_well_formed() -> None:
    keys = [d.key for d in DEVIATIONS]
    assert len(keys) == len(set(keys))
    for entry in DEVIATIONS:
        assert entry.engines <= set(ENGINES), entry.key
        assert entry.engines, entry.key
    assert deviates("chromium", "client-hints-safelisted")
    assert not deviates("webkit", "client-hints-safelisted")
    with pytest.raises(KeyError):
        deviates("chromium", "no-such-entry")
