"""A stdio "server" that misbehaves on purpose, for the client's robustness tests.

It answers ``initialize`` properly (and refuses ``server/discover``), pages ``tools/list``
with a cursor that never changes, then for each
``tools/call`` writes, in order: a line that is not JSON, a line over 2 MiB, a response
to an id nobody asked for, a JSON array, and finally the answer named by the tool:
``bad_result`` (a result that is not an object), ``bad_error`` (an error without a code),
``exit`` (the process dies without answering), else a valid result.
"""

import json
import sys


def write(obj) -> None:
    sys.stdout.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    message = json.loads(line)
    method, mid = message.get("method"), message.get("id")
    if mid is None:
        continue
    if method == "server/discover":
        write({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "Method not found"}})
    elif method == "initialize":
        write({"jsonrpc": "2.0", "id": mid, "result": {
            "protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "hostile"}}})
    elif method == "tools/list":  # a cursor that never ends: the client must stop on its own
        write({"jsonrpc": "2.0", "id": mid, "result": {"tools": [{"name": "fine", "inputSchema": {"type": "object"}}],
                                                       "nextCursor": "again"}})
    elif method == "tools/call":
        name = message["params"]["name"]
        write("this is not json {")
        write("x" * (2 * 1024 * 1024 + 10))
        write({"jsonrpc": "2.0", "id": 987654, "result": {}})
        write([1, 2, 3])
        if name == "exit":
            sys.exit(3)
        if name == "bad_result":
            write({"jsonrpc": "2.0", "id": mid, "result": [1, 2]})
        elif name == "bad_error":
            write({"jsonrpc": "2.0", "id": mid, "error": {"message": "no code"}})
        else:
            write({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "ok"}]}})
    else:
        write({"jsonrpc": "2.0", "id": mid, "result": {}})
