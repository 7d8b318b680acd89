"""The demo server started by `./dev demo`: every capability on embedded defaults.

Routes: the hello endpoints (plain text, typed path params, JSON echo, SSE).
"""

from examples.hello import app

__all__ = ["app"]
