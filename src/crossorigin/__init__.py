"""crossorigin: CORS for every Python web server.

The core (this package's top level) is sans-IO; its one dependency, the Public Suffix
List, is read only while a policy is built. Build a :class:`CORSPolicy` once, call
:meth:`CORSPolicy.decide` per request, apply the :class:`Decision`. Adapters live in
sub-modules: :mod:`crossorigin.asgi`,
:mod:`crossorigin.wsgi`, :mod:`crossorigin.flask`, :mod:`crossorigin.django`,
:mod:`crossorigin.aiohttp`. :class:`Routes` holds per-path policies; an
:class:`OriginResolver` lets a policy consult a callable (a tenant database) for origins.
"""

from .decision import Decision, Reason, Refusal, RequestKind
from .errors import ConfigError, Problem
from .policy import CORSPolicy
from .resolver import OriginResolver
from .routes import Routes

__all__ = [
    "CORSPolicy",
    "ConfigError",
    "Decision",
    "OriginResolver",
    "Problem",
    "Reason",
    "Refusal",
    "RequestKind",
    "Routes",
]

__version__ = "0.1.0"
