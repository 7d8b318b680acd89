"""``conduit bench MODULE:APP``: write an asv suite for the app's routes, run it, print them by cost.

The suite (:mod:`.suite`) measures every route in-process through the server's
connection (:mod:`.inprocess`) and, where wrk is installed, over a socket beside an
optional peer (:mod:`.sockets`). The table lists the routes costliest first, each
with the findings ``conduit routes --check`` has for it (the route-table analysis
behind ``route_hints``; traffic hints are left out: a benchmark's single repeated
request would make every parameter look constant).
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import time
from pathlib import Path
from typing import Any

from .samples import load_examples, plan_samples


def add_arguments(bench: argparse.ArgumentParser) -> None:
    bench.add_argument("target", help="MODULE:APP, e.g. examples.rest_api:app")
    bench.add_argument("--dir", default="bench", metavar="DIR",
                       help="folder for the asv suite and its results (./bench)")
    bench.add_argument("--duration", type=float, default=3.0, metavar="SECONDS",
                       help="seconds per route and per server, split over 3 alternating rounds; a socket round "
                            "lasts at least 1 s, wrk's unit (3)")
    bench.add_argument("--route", action="append", default=None, metavar="ROUTE",
                       help="measure only this route: 'METHOD PATTERN' or a pattern (repeatable; default all)")
    bench.add_argument("--examples", metavar="FILE",
                       help="JSON sample requests per route, {\"METHOD PATTERN\": {\"path\": ..., \"json\": ...}}")
    bench.add_argument("--peer", metavar="MODULE:APP|URL",
                       help="a peer measured beside each route over the socket: an ASGI app (run with "
                            "uvicorn) or the base URL of a running server")
    bench.add_argument("--no-socket", dest="socket", action="store_false",
                       help="in-process only, even where wrk is installed")
    bench.add_argument("--markdown", action="store_true", help="print the table as markdown rows")
    bench.add_argument("--write-only", action="store_true", help="write the suite without running asv")


def _fail(message: str) -> int:
    print(f"error: {message}")
    return 1


def _peer(value: str | None) -> dict[str, str] | None:
    if value is None:
        return None
    if value.startswith(("http://", "https://")):
        return {"kind": "url", "value": value}
    module, _, attribute = value.partition(":")
    if not module or not attribute:
        raise ValueError(f"--peer takes MODULE:APP (an ASGI app) or an http:// URL, got {value!r}")
    return {"kind": "asgi", "value": value}


def _hints(app: Any) -> dict[str, list[str]]:
    """Findings of the route-table analysis (``conduit routes --check``) per route label."""
    from ..routing.checks import check_app

    by_route: dict[str, list[str]] = {}
    for finding in check_app(app):
        by_route.setdefault(finding.route, []).append(f"{finding.level}: {finding.message}")
    labels: dict[str, list[str]] = {}
    for route in app.router.routes:
        for method in route.methods:
            labels[f"{method} {route.pattern}"] = by_route.get(route.describe(), [])
    return labels


def _figure(value: float, digits: int = 1) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _socket_cells(entry: dict) -> list[str]:
    """req/s and CPU µs; req/s marked ``!`` when wrk saw errors or non-2xx/3xx answers."""
    rate = _figure(entry.get("req_per_s", math.nan), 0) + ("!" if entry.get("errors") else "")
    return [rate, _figure(entry.get("cpu_us", math.nan))]


def table_rows(in_process: dict, sockets: dict | None, peer: str | None) -> list[list[str]]:
    """The header, then one row per route, costliest first (in-process CPU µs per request)."""
    header = ["ROUTE", "CPU_US", "STATUS"]
    if sockets is not None:
        header += ["REQ_S", "SERVER_CPU_US"] + (["PEER_REQ_S", "PEER_CPU_US"] if peer else [])
    rows = [header + ["LOAD"]]
    for label in sorted(in_process, key=lambda k: -in_process[k]["cpu_us"]):
        entry = in_process[label]
        row, load = [label, _figure(entry["cpu_us"]), ",".join(sorted(entry["statuses"]))], entry["load_avg"]
        for name in (["conduit"] + (["peer"] if peer else [])) if sockets is not None else []:
            found = sockets.get(label, {}).get(name, {})
            row += _socket_cells(found)
            load = max(load, found.get("load_avg", 0.0))
        rows.append(row + [f"{load:.1f}" + (" (busy)" if load >= 2 else "")])
    return rows


def format_table(rows: list[list[str]], hints: dict[str, list[str]], markdown: bool = False) -> list[str]:
    """Aligned columns with each route's findings under it, or markdown rows with a HINTS column."""
    if markdown:
        lines = ["| " + " | ".join(rows[0] + ["HINTS"]) + " |", "|" + "---|" * (len(rows[0]) + 1)]
        return lines + ["| " + " | ".join(row + ["; ".join(hints.get(row[0], [])) or "-"]) + " |"
                        for row in rows[1:]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        lines += [f"    {note}" for note in hints.get(row[0], [])]
    return lines


def main_bench(args: argparse.Namespace) -> int:
    """Check the inputs, write the suite, run asv, print the table; 1 with one error line on bad input."""
    from ..targets import load_target
    from .sockets import wrk_available
    from .suite import asv_command, run_asv, write_suite

    if args.duration <= 0 or args.duration > 600:
        return _fail(f"--duration must be more than 0 and at most 600 seconds, got {args.duration}")
    try:
        peer = _peer(args.peer)
    except ValueError as exc:
        return _fail(str(exc))
    if not args.write_only and asv_command() is None:
        return _fail("asv is not installed: pip install asv (Conduit's bench extra), or use --write-only")
    sockets = args.socket and wrk_available()
    if peer and not sockets:
        return _fail("--peer is measured over a socket, which needs wrk (Debian package 'wrk') "
                     "and no --no-socket")
    try:
        app = load_target(args.target)
    except SystemExit as exc:  # load_target's one-line messages
        return _fail(str(exc).removeprefix("error: "))
    if inspect.isfunction(app):
        app = app()
    from ..app import Conduit

    if not isinstance(app, Conduit):
        return _fail(f"{args.target} is a {type(app).__name__}, not a Conduit app")
    try:
        examples = load_examples(args.examples) if args.examples else None
        plan = plan_samples(app, examples, args.route)
    except ValueError as exc:
        return _fail(str(exc))
    if args.route:
        unknown = [r for r in args.route if not any(label == r or label.split(" ", 1)[1] == r
                                                    for label in [*plan.samples, *plan.skipped])]
        if unknown:
            return _fail(f"no route matches --route {unknown[0]!r} (see conduit routes {args.target})")
    if not plan.samples and not plan.skipped:
        return _fail(f"{args.target} has no routes to measure")
    if not plan.samples:
        return _fail("no route has a sample request: " + "; ".join(f"{k}: {v}" for k, v in plan.skipped.items()))
    folder = Path(args.dir).resolve()
    try:
        conf = write_suite(folder, target=args.target, project=Path(os.getcwd()), samples=plan.samples,
                           seconds=args.duration, rounds=3, sockets=sockets, peer=peer)
    except OSError as exc:
        return _fail(f"cannot write the suite into {folder}: {exc.strerror or exc}")
    print(f"wrote the asv suite for {len(plan.samples)} route(s) to {folder}"
          + ("" if sockets else " (in-process only: " + ("--no-socket)" if not args.socket else "wrk not installed)")))
    for label, reason in plan.skipped.items():
        print(f"  skipped {label}: {reason}")
    if args.write_only:
        print(f"run it with: asv run --config {conf} --python=same")
        return 0
    started = time.time()
    code, output = run_asv(conf, show=False)
    results = {}
    for mode in ("in_process", "sockets"):
        path = folder / ".asv" / f"conduit-bench-{mode}.json"
        if path.exists() and path.stat().st_mtime >= started:
            results[mode] = json.loads(path.read_text())
    if code or "in_process" not in results or (sockets and "sockets" not in results):
        tail = "\n".join(output.strip().splitlines()[-15:])
        return _fail(f"asv run failed (exit {code}); its last lines:\n{tail}")
    print()
    rows = table_rows(results["in_process"], results.get("sockets"), args.peer)
    for line in format_table(rows, _hints(app), markdown=args.markdown):
        print(line)
    print(f"\nCPU_US: in-process CPU µs per request (lower is better); REQ_S: wrk, 16 connections "
          f"(! = errors or non-2xx answers); LOAD: 1-minute load average (busy >= 2). Results kept in "
          f"{folder / '.asv' / 'results'}" +
          ("; compare two commits with: asv compare --config " + str(conf) + " A B"
           if json.loads(conf.read_text()).get("dvcs") == "git" else
           " only in a git repository (asv compare needs commits)"))
    return 0
