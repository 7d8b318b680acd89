"""``conduit bench``: tuning an app's routes with asv (docs/tuning.md).

Layers: :mod:`.samples` (a request per route from its OpenAPI operation, or the
user's examples file), :mod:`.inprocess` (the server's connection over a memory
stream), :mod:`.sockets` (``conduit run`` and a peer under wrk), :mod:`.suite` (the
asv files and what they run), :mod:`.command` (the command line and its table).
Nothing here is imported by ``import conduit``.
"""
