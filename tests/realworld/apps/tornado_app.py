"""Tornado, with ``crossorigin.tornado``'s base handler and the app-wide policy setting.

Run as ``python -m tests.realworld.apps.tornado_app PORT``.
"""

from __future__ import annotations

import asyncio
import json
import sys

import tornado.web

from crossorigin.tornado import CORSNotFoundHandler, CORSRequestHandler

from .common import POLICY, Boom, echo


class Data(CORSRequestHandler):
    def get(self) -> None:
        self.set_header("X-Framework", "tornado")
        self.write({"framework": "tornado"})

    def put(self) -> None:
        body = echo("tornado", self.request.body, self.request.headers.get("Authorization"))
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(body))


class BoomHandler(CORSRequestHandler):
    def get(self) -> None:
        raise Boom("tornado")


def make_app() -> tornado.web.Application:
    return tornado.web.Application(
        [(r"/api/data", Data), (r"/api/boom", BoomHandler)],
        cors_policy=POLICY,
        default_handler_class=CORSNotFoundHandler,
    )


async def main(port: int) -> None:
    make_app().listen(port, address="127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
