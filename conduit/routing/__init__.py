"""Sans-IO routing front: route records, parameter convertors and the Router.

Layering rule: no sockets, no trio. The pattern grammar and the match kernel
live in ``conduit_kernels.routing``; this package gives them names, handlers and
Python types, and turns kernel results into a :class:`Match`; :mod:`.checks`
analyses a whole table (``conduit routes --check``).
"""

from .convertors import CONVERTORS, ParamConversionError
from .router import Match, Route, RouteError, Router

__all__ = ["CONVERTORS", "Match", "ParamConversionError", "Route", "RouteError", "Router"]
