"""Running the proxy: validation at start, the ASGI stack, uvicorn, a clean Ctrl-C.

The stack is ``RequestLog(CORSMiddleware(ProxyApp))``: the policy is applied by the same
middleware any ASGI app would use. With ``--workers N`` uvicorn starts N processes that each
build the same stack from the same (already validated) options; nothing is shared between
them, so they can also run on several machines behind a load balancer.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossorigin import ConfigError, CORSPolicy
from crossorigin.asgi import CORSMiddleware

from .config import Settings, SetupError, option_names_hint, settings_from_args

if TYPE_CHECKING:
    import socket

    import uvicorn
    from rich.console import Console

    from .console import RequestLog

ARGS_VARIABLE = "CROSSORIGIN_PROXY_ARGS"
"""How the parent hands the validated options to uvicorn's worker processes."""


def build_app(settings: Settings, console: Console | None) -> RequestLog:
    """The whole proxy as one ASGI app (the log outermost, then the CORS middleware)."""
    from .console import RequestLog
    from .forward import ProxyApp

    proxy = ProxyApp(settings)
    if settings.routes is not None:
        cors = CORSMiddleware(proxy, routes=settings.routes)
    else:
        cors = CORSMiddleware(proxy, policy=settings.policy)
    return RequestLog(cors, settings.policy_for, None if settings.quiet else console)


def describe_policy(policy: CORSPolicy) -> str:
    if policy.dangerously_reflect_any_origin:
        parts = ["EVERY origin (dangerously_reflect_any_origin)"]
    else:
        parts = ["origins " + ", ".join(policy.allow_origins or ("(none listed)",))]
    if policy.allow_origin_regex:
        parts.append(f"origin regex {policy.allow_origin_regex}")
    if policy.allow_credentials:
        parts.append("credentials")
    parts.append("methods " + ", ".join(policy.allow_methods))
    if policy.allow_headers:
        parts.append("headers " + ", ".join(policy.allow_headers))
    if policy.allow_header_regex:
        parts.append(f"header regex {policy.allow_header_regex}")
    if policy.expose_headers:
        parts.append("exposes " + ", ".join(policy.expose_headers))
    if policy.max_age is not None:
        parts.append(f"max-age {policy.max_age}s")
    return " · ".join(parts)


def policy_lines(settings: Settings) -> list[str]:
    if settings.routes is not None:
        return [
            f"  {pattern}: {describe_policy(policy)}" for pattern, policy in settings.routes.rules
        ]
    assert settings.policy is not None
    return [f"  every path: {describe_policy(settings.policy)}"]


def make_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


class _HideUpstreamBreaks(logging.Filter):
    """uvicorn reports an app exception with a traceback; for an upstream that died
    mid-response the request line already says so."""

    def filter(self, record: logging.LogRecord) -> bool:
        from .forward import UpstreamBroke

        return not (record.exc_info and isinstance(record.exc_info[1], UpstreamBroke))


def _configure_logging() -> None:
    logging.getLogger("uvicorn.error").addFilter(_HideUpstreamBreaks())


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "lifespan": "on",
        "access_log": False,  # our own line per request replaces it
        "log_level": "warning",
        # The upstream's own Server and Date headers are passed on, not uvicorn's.
        "server_header": False,
        "date_header": False,
        "timeout_graceful_shutdown": settings.grace,
        # The proxy handles X-Forwarded-* itself (it must append to them, not consume them).
        "proxy_headers": False,
        "timeout_keep_alive": settings.keep_alive,
    }


def make_server(settings: Settings, app: RequestLog, console: Console | None) -> uvicorn.Server:
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if console is not None and self.started:
                port = settings.port
                for server in self.servers:
                    for sock in server.sockets:
                        port = sock.getsockname()[1]
                console.print(
                    f"[bold]crossorigin proxy[/] listening on "
                    f"[bold]http://{settings.host}:{port}[/] → {settings.upstream.url}",
                    markup=True,
                )
                for line in policy_lines(settings):
                    console.print(line, markup=False)
                console.print("[dim]Ctrl-C to stop[/]", markup=True)

        def handle_exit(self, sig: int, frame: Any) -> None:
            if console is not None and not self.should_exit:
                console.print(
                    f"stopping: {app.in_flight} request(s) in flight get up to "
                    f"{settings.grace:g} s to finish",
                    markup=False,
                )
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, **uvicorn_options(settings)
    )
    return Server(config)


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
    except SetupError as error:
        print(f"crossorigin proxy: {error}", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"crossorigin proxy: {error}\n{option_names_hint()}", file=sys.stderr)
        return 2
    _configure_logging()
    console = make_console()
    if settings.workers > 1:
        return _run_workers(args, settings, console)
    app = build_app(settings, console)
    server = make_server(settings, app, console)
    try:
        server.run()
    except KeyboardInterrupt:  # only where signals cannot be handled (Windows)
        return 0
    return 0 if server.started else 1


def _run_workers(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    import uvicorn

    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    options.pop("_module", None)
    os.environ[ARGS_VARIABLE] = json.dumps(options)
    console.print(
        f"[bold]crossorigin proxy[/] {settings.workers} workers on "
        f"[bold]http://{settings.host}:{settings.port}[/] → {settings.upstream.url}",
        markup=True,
    )
    for line in policy_lines(settings):
        console.print(line, markup=False)
    uvicorn.run(
        "crossorigin.tools.proxy.server:worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        **uvicorn_options(settings),
    )
    return 0


def worker_app() -> RequestLog:
    """The app of one worker process, from the options the parent validated."""
    options = json.loads(os.environ[ARGS_VARIABLE])
    for key in ("config", "upstream_ca"):
        if options.get(key) is not None:
            options[key] = Path(options[key])
    args = argparse.Namespace(**options)
    args.cors_rules = [tuple(rule) for rule in args.cors_rules] if args.cors_rules else None
    settings = settings_from_args(args)
    _configure_logging()
    return build_app(settings, make_console())
