"""The ``crossorigin`` command: one entry point, one sub-command per tool.

Each tool is a module exposing ``add_arguments(parser)`` and ``run(args) -> int``; it is
imported only when its sub-command runs, so ``crossorigin --help`` stays fast and a missing
optional dependency only affects the tool that needs it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

# sub-command -> (module, one-line help)
TOOLS: dict[str, tuple[str, str]] = {
    "demo": ("crossorigin.tools.demo", "run an API and a page on two loopback origins"),
    "check": ("crossorigin.tools.check", "explain whether and why a browser blocks a request"),
    "audit": ("crossorigin.tools.audit", "scan servers for CORS grants another site can abuse"),
    "explain": ("crossorigin.tools.explain", "explain a browser's CORS console error"),
    "proxy": ("crossorigin.tools.proxy", "put a CORS policy in front of any HTTP backend"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crossorigin", description="CORS tools: diagnose, audit, explain, demonstrate."
    )
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, summary) in TOOLS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.set_defaults(_module=module_name)
        try:
            tool = _load(module_name)
        except ModuleNotFoundError as error:
            if _extra_missing(error) is None:
                raise
            continue  # the sub-command still parses; running it says what to install
        tool.add_arguments(sub)
    return parser


class _Version(argparse.Action):
    """``--version``: the package and the date of the Public Suffix List it judges
    origin patterns with (read only when asked, so ``--help`` stays fast)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings, argparse.SUPPRESS, nargs=0, help="show the versions and exit"
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        from crossorigin import __version__
        from crossorigin.origin_analysis import public_suffix_list_date

        print(f"crossorigin {__version__} (Public Suffix List of {public_suffix_list_date()})")
        parser.exit()


# The packages of the ``tools`` extra (pyproject.toml), by import name.
TOOLS_EXTRA_MODULES = frozenset({"httpx", "rich", "uvicorn"})
INSTALL_TOOLS = "pip install 'crossorigin[tools]'"


def port_number(text: str) -> int:
    """An argparse ``type`` for a TCP port (0 lets the system pick), shared by the tools."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 65535")
    return value


def _extra_missing(error: ModuleNotFoundError) -> str | None:
    """The ``tools`` extra's package behind an import error, or None for anything else."""
    root = (error.name or "").partition(".")[0]
    return root if root in TOOLS_EXTRA_MODULES else None


class Tool(Protocol):
    """What a tool module provides."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(module_name: str) -> Tool:
    return cast(Tool, importlib.import_module(module_name))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    try:
        module = _load(args._module)
        if rest:  # the tool's arguments were not registered: its module could not load
            parser.parse_args(argv)
        return module.run(args)
    except ModuleNotFoundError as error:
        missing = _extra_missing(error)
        if missing is None:
            raise
        print(
            f"crossorigin {args.command}: needs the 'tools' extra ({missing} is not "
            f"installed): {INSTALL_TOOLS}",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
