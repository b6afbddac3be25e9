"""An origin lookup over a SQL table: ``SQLOrigins("sqlite:///tenants.db")``.

The table holds one row per allowed origin (serialized, e.g. ``https://shop.example``). The
same code works on any SQLAlchemy URL (PostgreSQL, MySQL...). It is a plain synchronous
callable: :class:`~crossorigin.OriginResolver` runs it on its own threads under ASGI, so the
event loop never waits for the database. Needs ``pip install 'crossorigin[sql]'``.

    from crossorigin import CORSPolicy, OriginResolver
    from crossorigin.recipes.sql import SQLOrigins

    origins = SQLOrigins("postgresql+psycopg://app@db/app", table="tenant_origins")
    policy = CORSPolicy(origin_resolver=OriginResolver(origins, ttl=60))
    ...
    origins.remove("https://old.example")      # a tenant removed a domain
    policy.origin_resolver.invalidate("https://old.example")
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, MetaData, String, Table, create_engine, delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError


class SQLOrigins:
    """``origin -> bool``: is ``origin`` a row of ``table``?

    :param url: a SQLAlchemy database URL, or an existing :class:`~sqlalchemy.engine.Engine`.
    :param table: the table name (created by :meth:`create` when missing).
    :param column: the column holding serialized origins.
    :param engine_options: passed to :func:`sqlalchemy.create_engine` (pool size...).
    """

    def __init__(
        self,
        url: str | Engine = "sqlite:///crossorigin-origins.db",
        *,
        table: str = "cors_origins",
        column: str = "origin",
        **engine_options: Any,
    ) -> None:
        self.engine = url if isinstance(url, Engine) else create_engine(url, **engine_options)
        self.table = Table(table, MetaData(), Column(column, String(300), primary_key=True))
        self._column = self.table.c[column]

    def create(self) -> None:
        """Create the table when it does not exist."""
        self.table.metadata.create_all(self.engine)

    def __call__(self, origin: str) -> bool:
        # A bound parameter, never string formatting: the resolver only ever passes valid
        # serialized origins, but the query must not rely on that.
        query = select(self._column).where(self._column == origin).limit(1)
        with self.engine.connect() as connection:
            return connection.execute(query).first() is not None

    def add(self, origin: str) -> None:
        """Allow ``origin`` (idempotent)."""
        with self.engine.begin() as connection:
            try:
                with connection.begin_nested():
                    connection.execute(insert(self.table).values({self._column.name: origin}))
            except IntegrityError:
                pass

    def remove(self, origin: str) -> None:
        """Stop allowing ``origin``. Invalidate it in the resolver(s) afterwards."""
        with self.engine.begin() as connection:
            connection.execute(delete(self.table).where(self._column == origin))

    def all(self) -> list[str]:
        """Every allowed origin, sorted."""
        with self.engine.connect() as connection:
            return sorted(row[0] for row in connection.execute(select(self._column)))

    def __repr__(self) -> str:
        return f"SQLOrigins({self.engine.url.render_as_string(hide_password=True)!r})"
