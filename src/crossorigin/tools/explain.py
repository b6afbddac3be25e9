"""``crossorigin explain``: what a browser's CORS console error means and how to fix it.

Paste Chromium's, Firefox's or Safari's message (as an argument, or on stdin); the reading
is done by :mod:`crossorigin.tools.console` (pure). For a Chromium message, which names the
URL and the page's origin, the report ends with the ``crossorigin check`` command that
reproduces the failure against the live server; ``--run`` runs it.

Exit status: 0 explained, 2 not a CORS error this tool knows (never a guess); with
``--run``, the status of ``crossorigin check``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .console import Explanation, explain, vague_hint

EXIT_EXPLAINED = 0
EXIT_UNKNOWN = 2
ENGINE_TITLES = {"chromium": "Chromium", "firefox": "Firefox", "safari": "Safari (WebKit)"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Explain a browser's CORS console error: which step failed, why, and the fix on the "
        "server (the header and the crossorigin option). Reads the message from the "
        "arguments, or from stdin when there are none. Exit status: 0 explained, 2 not a "
        "CORS error it knows."
    )
    parser.add_argument(
        "message", nargs="*", help="the console message (quote it), or nothing to read stdin"
    )
    parser.add_argument(
        "--run",
        action="store_true",
        help="run the matching 'crossorigin check' against the live server",
    )
    parser.add_argument("--json", action="store_true", help="print a machine-readable reading")


def explanation_json(item: Explanation) -> dict[str, Any]:
    return {
        "engine": item.engine,
        "kind": item.kind,
        "step": item.step,
        "title": item.failure.title,
        "why": item.why,
        "fix": item.fix,
        "option": item.option,
        "preflight": item.preflight,
        "url": item.url,
        "origin": item.origin,
        "redirected_from": item.redirected_from,
        "value": item.value,
        "status": item.status,
        "credentials": item.credentials,
        "notes": list(item.notes),
        "check": item.check_command(),
    }


def render(items: list[Explanation]) -> str:
    out: list[str] = []
    for number, item in enumerate(items, 1):
        if len(items) > 1:
            out.append(f"[{number}/{len(items)}]")
        where = "the preflight (OPTIONS)" if item.preflight else "the response"
        out.append(f"{ENGINE_TITLES[item.engine]} CORS error, in {where}:")
        out.append(f"  failed step: {item.failure.title}  [{item.step}: {item.kind}]")
        if item.url:
            out.append(f"  URL:         {item.url}")
        if item.redirected_from:
            out.append(f"  redirected from: {item.redirected_from}")
        if item.origin:
            out.append(f"  page origin: {item.origin}")
        out.append(f"  why:         {item.why}")
        for note in item.notes:
            out.append(f"  note:        {note}")
        out.append(f"  fix:         {item.fix}")
        out.append(f"  crossorigin: {item.option}")
        command = item.command_text()
        if command is not None:
            out.append("  reproduce:   " + command)
            if item.origin is None:
                out.append("               (put the page's origin in place of ORIGIN)")
            elif not item.command_complete:
                out.append(
                    "               (add the -X METHOD and -H 'Name: value' your page uses: "
                    "the message does not say which triggered the preflight)"
                )
        out.append("")
    return "\n".join(out).rstrip("\n")


def _read(args: argparse.Namespace) -> str:
    if args.message:
        return " ".join(args.message)
    # Bytes, decoded leniently: a paste with stray bytes is still read, never a traceback.
    return sys.stdin.buffer.read().decode("utf-8", errors="replace")


def run(args: argparse.Namespace) -> int:
    text = _read(args)
    items = explain(text)
    if not items:
        hint = vague_hint(text)
        message = "not a CORS error I know" + (f": {hint}" if hint else "")
        if args.json:
            print(json.dumps({"explained": False, "error": message}, indent=2))
        print(f"crossorigin explain: {message}", file=sys.stderr)
        return EXIT_UNKNOWN
    if args.json:
        print(json.dumps({"explained": True, "errors": [explanation_json(i) for i in items]}))
    else:
        print(render(items))
    if not args.run:
        return EXIT_EXPLAINED
    runnable = [i for i in items if i.command_complete]
    if not runnable:
        print(
            "crossorigin explain: cannot --run: the message does not name the page's origin "
            "and the request (run the command above with them filled in)",
            file=sys.stderr,
        )
        return EXIT_UNKNOWN
    argv = runnable[0].check_command()
    assert argv is not None  # command_complete implies a command
    print(f"\n$ {runnable[0].command_text()}", flush=True)
    from . import cli

    return cli.main(argv[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crossorigin explain")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
