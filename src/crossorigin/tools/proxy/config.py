"""What ``crossorigin proxy`` is told: the upstream, the CORS policy, the server settings.

Everything here is validated before a socket is opened, so a bad upstream URL, an unreadable
TOML file or an invalid policy stops the proxy at start with one readable message (for a
policy, the :class:`~crossorigin.ConfigError` text listing every problem and its fix).

The policy comes either from command-line options named after :class:`~crossorigin.CORSPolicy`'s
keywords (``--allow-origin`` is ``allow_origins``...) or from a TOML file. ``--path PATTERN``
starts a per-path rule: the policy options after it belong to that rule, the ones before the
first ``--path`` form the policy of every other path.
"""

from __future__ import annotations

import argparse
import ssl
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crossorigin import ConfigError, CORSPolicy, Problem, Routes
from crossorigin.policy import OPTION_NAMES, policy_from_options
from crossorigin.tools.cli import port_number

NOTE = "crossorigin.proxy.note"
"""Scope key where the proxy leaves a short note for the request log (why it failed...)."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 300.0
DEFAULT_GRACE = 10.0
DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_KEEP_ALIVE = 5.0

# command-line option -> (CORSPolicy keyword, kind); "list" options repeat.
POLICY_OPTIONS: dict[str, tuple[str, str]] = {
    "--allow-origin": ("allow_origins", "list"),
    "--allow-origin-regex": ("allow_origin_regex", "value"),
    "--allow-method": ("allow_methods", "list"),
    "--allow-header": ("allow_headers", "list"),
    "--allow-header-regex": ("allow_header_regex", "value"),
    "--expose-header": ("expose_headers", "list"),
    "--allow-credentials": ("allow_credentials", "flag"),
    "--max-age": ("max_age", "int"),
    "--allow-private-network": ("allow_private_network", "flag"),
    "--dangerously-reflect-any-origin": ("dangerously_reflect_any_origin", "flag"),
}
OPTION_FOR_KEYWORD = {keyword: option for option, (keyword, _) in POLICY_OPTIONS.items()}

# One rule as the command line or the TOML file gives it: (path pattern or None, options).
RuleSpec = tuple[str | None, dict[str, Any]]


class SetupError(Exception):
    """The proxy cannot start; the message says why and how to fix it."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """The one server the proxy forwards to. Nothing in a request can change it."""

    scheme: str  # "http" or "https"
    host: str  # as in a URL: IPv6 in brackets, lowercase
    port: int
    base_path: str  # "" or "/prefix" without a trailing slash

    @property
    def netloc(self) -> str:
        """``host[:port]`` as a ``Host`` header says it (default port omitted)."""
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"

    @property
    def hostname(self) -> str:
        """The host without IPv6 brackets (what cookie ``Domain`` attributes name)."""
        return self.host.strip("[]")

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.base_path}"

    @property
    def websocket_url(self) -> str:
        scheme = "wss" if self.scheme == "https" else "ws"
        return f"{scheme}://{self.netloc}{self.base_path}"


def parse_upstream(text: str) -> Upstream:
    """Validate ``UPSTREAM_URL``: http(s), a host, optional port and base path, nothing else."""
    hint = "give the upstream like http://127.0.0.1:9000 or https://api.example.com/v1"
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as error:
        raise SetupError(f"upstream URL {text!r} is not valid ({error}): {hint}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise SetupError(f"upstream URL {text!r} must start with http:// or https://: {hint}")
    if not parts.hostname:
        raise SetupError(f"upstream URL {text!r} has no host: {hint}")
    if "@" in parts.netloc:
        raise SetupError(
            f"upstream URL {text!r} carries credentials; the proxy forwards the browser's own "
            "Authorization header instead: remove the user:password@ part"
        )
    if parts.query or parts.fragment or text.rstrip().endswith(("?", "#")):
        raise SetupError(
            f"upstream URL {text!r} has a query or fragment; the request's own query is "
            f"appended to every forwarded request: {hint}"
        )
    if any(ch in text for ch in "\\ \t\r\n"):
        raise SetupError(f"upstream URL {text!r} contains spaces or backslashes: {hint}")
    scheme = parts.scheme.lower()
    hostname = parts.hostname.lower()
    host = f"[{hostname}]" if ":" in hostname else hostname
    path = parts.path.rstrip("/")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise SetupError(f"upstream URL {text!r} has '.' or '..' segments in its path: {hint}")
    return Upstream(scheme, host, port or (443 if scheme == "https" else 80), path)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the proxy needs to run, validated."""

    upstream: Upstream
    policy: CORSPolicy | None
    routes: Routes | None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    preserve_host: bool = False
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float | None = DEFAULT_READ_TIMEOUT
    grace: float = DEFAULT_GRACE
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    quiet: bool = False
    forwarded_allow_ips: str = "127.0.0.1"
    keep_alive: float = DEFAULT_KEEP_ALIVE
    upstream_ca: Path | None = None

    def policy_for(self, path: str) -> CORSPolicy | None:
        """The policy that governs ``path`` (None: no rule, so no CORS grant)."""
        if self.routes is not None:
            return self.routes.policy_for(path)
        return self.policy


# --- the command line -----------------------------------------------------------------------


class _PolicyOption(argparse.Action):
    """Adds a policy option to the current rule (the last ``--path``, or the default one)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        rules: list[RuleSpec] | None = getattr(namespace, "cors_rules", None)
        if rules is None:
            rules = [(None, {})]
            namespace.cors_rules = rules
        if option_string == "--path":
            rules.append((str(values), {}))
            return
        assert option_string is not None
        keyword, kind = POLICY_OPTIONS[option_string]
        options = rules[-1][1]
        if kind == "list":
            options.setdefault(keyword, []).append(values)
        elif kind == "flag":
            options[keyword] = True
        else:
            options[keyword] = values


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "upstream",
        metavar="UPSTREAM_URL",
        help="the one server every request is forwarded to (path and query appended), "
        "e.g. http://127.0.0.1:9000 or https://api.example.com/v1",
    )
    server = parser.add_argument_group("server")
    server.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}; 0.0.0.0 for every interface)",
    )
    server.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    server.add_argument(
        "--workers",
        type=_count,
        default=1,
        help="uvicorn worker processes (default 1; the proxy is stateless)",
    )
    server.add_argument(
        "--preserve-host",
        action="store_true",
        help="send the browser's Host header upstream instead of the upstream's",
    )
    server.add_argument(
        "--connect-timeout",
        type=_positive_float,
        default=DEFAULT_CONNECT_TIMEOUT,
        help=f"seconds to connect to the upstream (default "
        f"{DEFAULT_CONNECT_TIMEOUT:g}); past it the browser gets a 504",
    )
    server.add_argument(
        "--read-timeout",
        type=_positive_float,
        default=DEFAULT_READ_TIMEOUT,
        help="seconds the upstream may stay silent, before its headers or "
        f"between two chunks (default {DEFAULT_READ_TIMEOUT:g}; 0 for no limit, "
        "for long-lived event streams)",
    )
    server.add_argument(
        "--grace",
        type=_positive_float,
        default=DEFAULT_GRACE,
        help=f"on Ctrl-C, seconds in-flight requests may take to finish "
        f"(default {DEFAULT_GRACE:g})",
    )
    server.add_argument(
        "--max-connections",
        type=_count,
        default=DEFAULT_MAX_CONNECTIONS,
        help=f"upstream connections kept open per worker (default {DEFAULT_MAX_CONNECTIONS})",
    )
    server.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="addresses of load balancers whose X-Forwarded-Proto/-Host are passed "
        "upstream as they are (comma-separated, '*' for any; default 127.0.0.1)",
    )
    server.add_argument(
        "--keep-alive",
        type=_positive_float,
        default=DEFAULT_KEEP_ALIVE,
        help="seconds an idle client connection stays open (default "
        f"{DEFAULT_KEEP_ALIVE:g}; behind a load balancer, longer than its idle timeout)",
    )
    server.add_argument(
        "--upstream-ca",
        metavar="FILE",
        type=Path,
        help="PEM file of the certificate authorities an https:// upstream's certificate "
        "may chain to (an internal CA), instead of the system's",
    )
    server.add_argument("--quiet", action="store_true", help="no line per request")
    policy = parser.add_argument_group(
        "CORS policy",
        "the options of CORSPolicy; --path PATTERN starts a per-path rule: the options after "
        "it apply to paths matching PATTERN ('/api/*', '/health'), the ones before the first "
        "--path to every other path",
    )
    policy.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="read the policy from a TOML file instead (see docs/proxy.md)",
    )
    policy.add_argument(
        "--allow-origin",
        action=_PolicyOption,
        metavar="ORIGIN",
        help="an origin that may read responses (repeat it); patterns like "
        "https://*.example.com or http://localhost:* work, '*' for public data",
    )
    policy.add_argument(
        "--allow-origin-regex",
        action=_PolicyOption,
        metavar="REGEX",
        help="a regular expression the whole origin must match",
    )
    policy.add_argument(
        "--allow-method",
        action=_PolicyOption,
        metavar="METHOD",
        help="a method preflights may allow (repeat it; default GET, HEAD, POST)",
    )
    policy.add_argument(
        "--allow-header",
        action=_PolicyOption,
        metavar="HEADER",
        help="a request header preflights may allow (repeat it)",
    )
    policy.add_argument(
        "--allow-header-regex",
        action=_PolicyOption,
        metavar="REGEX",
        help="a regular expression request header names may fully match, besides the listed ones",
    )
    policy.add_argument(
        "--expose-header",
        action=_PolicyOption,
        metavar="HEADER",
        help="a response header script may read (repeat it)",
    )
    policy.add_argument(
        "--allow-credentials",
        action=_PolicyOption,
        nargs=0,
        help="let credentialed requests (cookies, HTTP auth) read responses",
    )
    policy.add_argument(
        "--max-age",
        action=_PolicyOption,
        type=int,
        metavar="SECONDS",
        help="how long browsers may cache a preflight's answer",
    )
    policy.add_argument(
        "--allow-private-network",
        action=_PolicyOption,
        nargs=0,
        help="answer Private Network Access preflights",
    )
    policy.add_argument(
        "--dangerously-reflect-any-origin",
        action=_PolicyOption,
        nargs=0,
        help="let every website read the responses (local development only; warns at start)",
    )
    policy.add_argument(
        "--path", action=_PolicyOption, metavar="PATTERN", help="start a per-path rule (see above)"
    )
    parser.set_defaults(cors_rules=None)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Validate the parsed command line; raise :class:`SetupError` or ``ConfigError``."""
    upstream = parse_upstream(args.upstream)
    rules: list[RuleSpec] | None = args.cors_rules
    given = rules is not None and any(pattern is not None or opts for pattern, opts in rules)
    if args.config is not None:
        if given:
            raise SetupError(
                "--config and policy options were both given: put the whole policy in "
                f"{args.config} or on the command line, not both"
            )
        rules = rules_from_toml(args.config)
    elif not given:
        rules = [(None, {})]  # CORSPolicy then explains that no origin is allowed
    assert rules is not None
    policy, routes = build_policy(rules)
    return Settings(
        upstream=upstream,
        policy=policy,
        routes=routes,
        host=args.host,
        port=args.port,
        workers=args.workers,
        preserve_host=args.preserve_host,
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout or None,
        grace=args.grace,
        max_connections=args.max_connections,
        quiet=args.quiet,
        forwarded_allow_ips=args.forwarded_allow_ips,
        keep_alive=args.keep_alive,
        upstream_ca=_readable(args.upstream_ca),
    )


def _readable(path: Path | None) -> Path | None:
    if path is None:
        return None
    try:
        ssl.create_default_context(cafile=path)
    except OSError as error:  # ssl.SSLError included: not PEM certificates
        raise SetupError(
            f"--upstream-ca {path} is not a readable PEM file of certificates: "
            f"{getattr(error, 'strerror', None) or error}"
        ) from None
    return path


def build_policy(rules: Sequence[RuleSpec]) -> tuple[CORSPolicy | None, Routes | None]:
    """One policy, or a route table when any rule has a path; every problem in one error.

    The default rule (no path) becomes the last rule, ``/*``, so the per-path rules win.
    """
    default = next((options for pattern, options in rules if pattern is None), {})
    paths = [(pattern, options) for pattern, options in rules if pattern is not None]
    if not paths:
        return policy_from_options(None, dict(default)), None
    problems: list[Problem] = []
    table: list[tuple[str, CORSPolicy]] = []
    for pattern, options in [*paths, *([("/*", default)] if default else [])]:
        try:
            table.append((pattern, policy_from_options(None, dict(options))))
        except ConfigError as error:
            where = "every other path" if options is default else f"path {pattern}"
            problems.extend(
                Problem(f"{p.option} ({where})", p.value, p.message, p.fix) for p in error.problems
            )
    if problems:
        raise ConfigError(problems)
    return None, Routes(table)


def rules_from_toml(path: Path) -> list[RuleSpec]:
    """Read a policy file: top-level CORSPolicy keys, plus ``[[paths]]`` tables with ``path``.

    ::

        allow_origins = ["https://app.example.com"]
        allow_credentials = true

        [[paths]]
        path = "/public/*"
        allow_origins = ["*"]
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SetupError(f"cannot read {path}: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SetupError(f"{path} is not valid TOML: {error}") from None
    paths = data.pop("paths", [])
    rules: list[RuleSpec] = [(None, data)] if data else []
    if not isinstance(paths, list) or not all(isinstance(entry, dict) for entry in paths):
        raise SetupError(f"{path}: 'paths' must be an array of tables ([[paths]] ... path = '/x')")
    for index, entry in enumerate(paths):
        entry = dict(entry)
        pattern = entry.pop("path", None)
        if not isinstance(pattern, str):
            raise SetupError(
                f"{path}: [[paths]] number {index + 1} needs path = '/some/path' or '/prefix/*'"
            )
        rules.append((pattern, entry))
    if not rules:
        raise SetupError(
            f"{path} holds no policy: set allow_origins = [...] (and any of "
            + ", ".join(name for name in OPTION_NAMES if name != "allow_origins")
            + ")"
        )
    return rules


def option_names_hint() -> str:
    """How the ConfigError's option names map to the command line."""
    return "On the command line: " + ", ".join(
        f"{keyword} is {option}" for keyword, option in OPTION_FOR_KEYWORD.items()
    )
