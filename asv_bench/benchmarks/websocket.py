"""WebSocket echo round-trips/s, broadcast fan-out and multipart upload throughput: Conduit beside Starlette on uvicorn.

Both servers run as one-worker subprocesses (``_servers.Server``); the client is the
``websockets`` sync client (one connection, sequential round-trips of a 32-byte text
message; for the fan-out, ``FANOUT`` connections in one room, one of them sending and
waiting until every member has its copy before the next) and httpx (sequential 1 MiB
multipart uploads). Measured in one
``setup_cache`` so both peers share the same machine state: both servers run at
once and alternating rounds measure each in turn (medians over rounds, the
highest 1-minute load average seen, server CPU per echo round-trip from /proc).
"""

from __future__ import annotations

import sys
import time

from ._servers import PEERS, SERVERS, Server

SERVERS.setdefault("conduit-ws", ([sys.executable, "-m", "conduit.cli", "run", "ws_conduit:app", "--port", "{port}",
                                   "--log-level", "warning"], PEERS))
SERVERS.setdefault("uvicorn-websockets+starlette", ([sys.executable, "-m", "uvicorn", "ws_starlette:app", "--ws",
                                                     "websockets", "--port", "{port}", "--log-level", "warning",
                                                     "--no-access-log"], PEERS))
PEERS_MEASURED = ("conduit-ws", "uvicorn-websockets+starlette")


def echo_round_trips(port: int, seconds: float = 3.0) -> float:
    from websockets.sync.client import connect

    message = "x" * 32
    with connect(f"ws://127.0.0.1:{port}/echo") as ws:
        for _ in range(200):  # warm up
            ws.send(message)
            ws.recv()
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            ws.send(message)
            ws.recv()
            count += 1
        return count / (time.perf_counter() - start)


FANOUT = 20


def broadcast_deliveries(port: int, seconds: float = 3.0, members: int = FANOUT) -> float:
    """Messages delivered per second when one of ``members`` connections broadcasts to all of them."""
    from contextlib import ExitStack

    from websockets.sync.client import connect

    message = "b" * 32
    with ExitStack() as stack:
        room = [stack.enter_context(connect(f"ws://127.0.0.1:{port}/broadcast")) for _ in range(members)]

        def one_round() -> None:
            room[0].send(message)
            for ws in room:
                assert ws.recv(timeout=30) == message

        for ws in room:  # every member is registered once a broadcast reaches it
            ws.send("join")
            for other in room:
                other.recv(timeout=30)
        for _ in range(20):  # warm up
            one_round()
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            one_round()
            count += 1
        return count * members / (time.perf_counter() - start)


def uploads_per_second(port: int, seconds: float = 3.0, size: int = 1 << 20) -> float:
    import httpx

    payload = b"u" * size
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        client.post("/upload", files={"file": ("f.bin", payload)})
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            assert client.post("/upload", files={"file": ("f.bin", payload)}).json()["size"] == size
            count += 1
        return count / (time.perf_counter() - start)


def echo_with_cpu(server: Server, seconds: float) -> dict:
    """Echo round-trips/s and the server's CPU µs per round-trip (user + system, /proc)."""
    cpu = server.cpu_seconds()
    started = time.perf_counter()
    rate = echo_round_trips(server.port, seconds)
    trips = rate * seconds + 200  # the timed loop and its warm-up
    return {"echo": rate, "echo_cpu_us": (server.cpu_seconds() - cpu) / trips * 1e6,
            "echo_wall_s": time.perf_counter() - started}


def measure(seconds: float = 3.0, rounds: int = 3) -> dict:
    """Both servers started, then alternating rounds (each figure: the median over rounds,
    with the highest 1-minute load average seen)."""
    import os
    import statistics

    servers = {}
    runs: dict[str, list[dict]] = {}
    try:
        for name in PEERS_MEASURED:
            servers[name] = Server(name)
        for _ in range(rounds):
            for name, server in servers.items():
                run = echo_with_cpu(server, seconds)
                run["broadcast"] = broadcast_deliveries(server.port, seconds)
                run["upload"] = uploads_per_second(server.port, seconds)
                run["load_avg"] = os.getloadavg()[0]
                runs.setdefault(name, []).append(run)
        results = {}
        for name, server in servers.items():
            rows = runs[name]
            results[name] = {key: statistics.median(r[key] for r in rows) for key in ("echo", "echo_cpu_us",
                                                                                       "broadcast", "upload")}
            results[name]["load_avg"] = max(r["load_avg"] for r in rows)
            results[name]["rss_mib"] = server.rss_mib()
        return results
    finally:
        for server in servers.values():
            server.stop()


class WebSocketAndUpload:
    timeout = 300
    params = list(PEERS_MEASURED)
    param_names = ["server"]

    def setup_cache(self):
        return measure()

    def track_echo_round_trips_per_second(self, results, server):
        return results[server]["echo"]

    track_echo_round_trips_per_second.unit = "round-trips/s"

    def track_echo_cpu_us_per_round_trip(self, results, server):
        return results[server]["echo_cpu_us"]

    track_echo_cpu_us_per_round_trip.unit = "us"

    def track_load_average(self, results, server):
        return results[server]["load_avg"]

    track_load_average.unit = "load"

    def track_broadcast_deliveries_per_second(self, results, server):
        return results[server]["broadcast"]

    track_broadcast_deliveries_per_second.unit = "messages delivered/s"

    def track_multipart_1mib_uploads_per_second(self, results, server):
        return results[server]["upload"]

    track_multipart_1mib_uploads_per_second.unit = "uploads/s"


if __name__ == "__main__":
    for name, figures in measure().items():
        print(f"{name}: echo {figures['echo']:.0f} round-trips/s ({figures['echo_cpu_us']:.1f} µs server CPU each), "
              f"broadcast to {FANOUT} {figures['broadcast']:.0f} deliveries/s, upload {figures['upload']:.1f} x 1 MiB/s, "
              f"RSS {figures['rss_mib']:.1f} MiB, load average {figures['load_avg']:.1f}")
