"""crossorigin: CORS for every Python web server.

The core (this package's top level) is sans-IO and dependency-free: build a
:class:`CORSPolicy` once, call :meth:`CORSPolicy.decide` per request, apply the
:class:`Decision`. Adapters live in sub-modules: :mod:`crossorigin.asgi`,
:mod:`crossorigin.wsgi`.
"""

from .decision import Decision, Reason, Refusal, RequestKind
from .errors import ConfigError, Problem
from .policy import CORSPolicy

__all__ = [
    "CORSPolicy",
    "ConfigError",
    "Decision",
    "Problem",
    "Reason",
    "Refusal",
    "RequestKind",
]

__version__ = "0.1.0"
