"""Typed requests: handler signatures become binders, once, at registration.

Layering: this package reads :class:`~conduit.http.Request` objects and route
records; it never touches sockets. :func:`build_endpoint` is the entry point the
app calls from ``add_route``; the markers are the public API::

    markers.py     Query, Header, Cookie, Path, Body, Form, File, Depends (Constraints with a source)
    signature.py   analyse(handler, route) -> Plan  (where each parameter comes from)
    (conduit.types: str -> value converters, JSON validators, constraints, built once)
    endpoint.py    Plan -> endpoint(request): extract, validate, inject, call
"""

from .endpoint import build_endpoint
from .markers import Array, Body, Cookie, Depends, File, Form, Header, Param, Path, Query
from .signature import ParamSpec, Plan, analyse

__all__ = ["Array", "Body", "Cookie", "Depends", "File", "Form", "Header", "Param", "ParamSpec", "Path", "Plan",
           "Query", "analyse", "build_endpoint"]
