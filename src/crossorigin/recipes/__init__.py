"""Recipes around :class:`~crossorigin.OriginResolver`: working, tested building blocks for
dynamic origins in production. Each needs its own extra and does I/O, so none is imported
by the core.

- :mod:`crossorigin.recipes.sql`: an origin lookup over a SQL table (SQLite by default,
  any SQLAlchemy URL). Extra: ``crossorigin[sql]``.
- :mod:`crossorigin.recipes.redis`: verdicts shared by every replica through Redis, with
  pub/sub invalidation of each replica's local cache. Extra: ``crossorigin[redis]``.
- :mod:`crossorigin.recipes.prometheus`: resolver statistics as Prometheus metrics.
  Extra: ``crossorigin[prometheus]``.
"""
