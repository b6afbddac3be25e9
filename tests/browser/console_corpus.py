"""The console messages each engine printed for the suite's blocked fetches, as data.

``console_corpus.json`` (next to this file) is written by the browser suite itself:
``CROSSORIGIN_WRITE_CONSOLE_CORPUS=1 pytest tests/browser``. Each entry is one distinct
message of one engine, with the codes of the checks ``crossorigin check`` found failing for
the same request (what ``crossorigin explain`` must recognise in that message) and the error
script saw. Every run compares what the engines printed with the file and names any message
the file lacks, so the corpus follows the browsers.

For tests (``crossorigin explain``'s included)::

    from tests.browser.console_corpus import CONSOLE_MESSAGES
    for entry in CONSOLE_MESSAGES["firefox"]:
        entry.message, entry.failures

Messages are normalised: ``{url}`` is the fetched URL, ``{api}`` its origin, ``{origin}`` the
page's origin and ``{other-origin}`` any other origin a message quotes. WebKit prints its
messages only to the Web Inspector, which WebKitWebDriver does not expose: its entries carry
the script-visible error and an empty message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .harness import ConsoleRecord

CORPUS_PATH = Path(__file__).with_name("console_corpus.json")
WRITE_ENV = "CROSSORIGIN_WRITE_CONSOLE_CORPUS"


@dataclass(frozen=True, order=True)
class CorpusEntry:
    engine: str
    message: str
    """The console message, normalised; empty when the engine's console is not readable."""
    failures: tuple[str, ...]
    """Codes of the checks ``crossorigin check`` found failing (``allow-origin``...)."""
    error: str
    """What the rejected promise said (``TypeError: ...``); empty for a warning."""
    example: str
    """One request of the suite that produced it."""


def _entry(record: ConsoleRecord, message: str) -> CorpusEntry:
    example = " ".join(
        [record.method, *record.header_names, *(["credentials"] if record.credentials else [])]
    )
    return CorpusEntry(
        record.engine, message, record.failures, record.error or "", f"{example} ({record.test})"
    )


def entries(records: Iterable[ConsoleRecord]) -> list[CorpusEntry]:
    """One entry per distinct (engine, message, failures, error), first example kept."""
    found: dict[tuple[str, str, tuple[str, ...], str], CorpusEntry] = {}
    for record in records:
        for message in record.console or ("",):
            entry = _entry(record, message)
            found.setdefault((entry.engine, entry.message, entry.failures, entry.error), entry)
    return sorted(found.values())


def load(path: Path = CORPUS_PATH) -> dict[str, tuple[CorpusEntry, ...]]:
    """The corpus by engine (empty when the file does not exist)."""
    if not path.exists():
        return {}
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    by_engine: dict[str, list[CorpusEntry]] = {}
    for item in raw["messages"]:
        entry = CorpusEntry(
            item["engine"],
            item["message"],
            tuple(item["failures"]),
            item["error"],
            item["example"],
        )
        by_engine.setdefault(entry.engine, []).append(entry)
    return {engine: tuple(found) for engine, found in by_engine.items()}


def dump(found: Sequence[CorpusEntry], versions: dict[str, str], path: Path = CORPUS_PATH) -> None:
    data = {
        "about": "Console messages of blocked (and warned) fetches, per engine; written by "
        f"`{WRITE_ENV}=1 pytest tests/browser` (see console_corpus.py)",
        "versions": versions,
        "messages": [
            {
                "engine": e.engine,
                "message": e.message,
                "failures": list(e.failures),
                "error": e.error,
                "example": e.example,
            }
            for e in found
        ],
    }
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def report_unknown(records: Sequence[ConsoleRecord], versions: dict[str, str]) -> list[str]:
    """Lines for the end of the run: messages the corpus lacks (or the corpus rewritten)."""
    live = entries(records)
    if os.environ.get(WRITE_ENV):
        known = [e for engine in load().values() for e in engine]
        engines = {e.engine for e in live}
        kept = [e for e in known if e.engine not in engines]
        dump(sorted({*kept, *live}), versions)
        return [f"console corpus written: {CORPUS_PATH} ({len(live)} entries from this run)"]
    known_keys = {(e.engine, e.message) for engine in load().values() for e in engine}
    unknown = [e for e in live if (e.engine, e.message) not in known_keys]
    return [
        f"console message not in {CORPUS_PATH.name} ({e.engine}, {e.failures}): {e.message!r}"
        for e in unknown
    ] + ([f"(rewrite the corpus with {WRITE_ENV}=1 to add them)"] if unknown else [])


CONSOLE_MESSAGES: dict[str, tuple[CorpusEntry, ...]] = load()
"""The committed corpus, by engine: ``chromium``, ``firefox``, ``webkit``."""
