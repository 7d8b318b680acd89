"""The ``conduit`` command: run an app, print its route table, serve an MCP server.

The ``--help`` texts are plain text (no reST markup): they are read in a terminal.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import sys
import time
import typing
from typing import Any

from .targets import load_target


def _load_app_talking(target: str) -> Any:
    """Import the app with a line per phase (the first within a second of the command), and the
    kernel cache prepared before Numba loads (:mod:`conduit.server.kernel_cache`)."""
    from .server.console import say as _say  # conduit.server is loaded by `import conduit` already

    started = time.perf_counter()
    _say(f"starting {target} (pid {os.getpid()})")
    from .server import kernel_cache

    try:
        cache = kernel_cache.prepare()
    except RuntimeError as exc:
        raise SystemExit(f"error: {exc}") from None
    _say(f"imports done in {time.perf_counter() - started:.1f} s")
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if metrics_dir:  # an app may create metrics at import; prometheus_client needs the folder (an empty emptyDir)
        os.makedirs(metrics_dir, exist_ok=True)
    mark = time.perf_counter()
    app = load_target(target)
    if inspect.isfunction(app):  # an app factory
        app = app()
    _say(f"app imported in {time.perf_counter() - mark:.1f} s (its module ran: models loaded, data read)")
    line_said = []

    def say_cache() -> None:
        line = kernel_cache.report(cache)
        if line and not line_said:
            line_said.append(line)
            _say(line)

    if cache.active is not None:
        app.on_startup(say_cache)
    return app


def _build(target: str, folder: str) -> int:
    """``conduit build``: compile every kernel the app's warm-up touches into ``folder``."""
    started = time.perf_counter()
    folder = os.path.abspath(folder)
    if "numba" in sys.modules:
        raise SystemExit("error: conduit build must set NUMBA_CACHE_DIR before Numba is imported")
    os.makedirs(folder, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = folder
    from . import __version__
    from .server import kernel_cache
    from .server.console import WarmupReporter, say as _say

    _say(f"building kernels of {target} into {folder}")

    app = load_target(target)
    if inspect.isfunction(app):
        app = app()
    progress = WarmupReporter()
    app.warmup(progress)
    progress.done()
    _say(kernel_cache.build_aot(folder))
    manifest = kernel_cache.write_manifest(folder, target, time.perf_counter() - started, __version__)
    _say(f"built {manifest['kernel_files']} kernel files in {manifest['seconds']:.1f} s; run with "
         f"NUMBA_CACHE_DIR={folder} (it may be read-only)")
    return 0


def _param_types(route) -> str:
    """Every input of the route (path, query, header, cookie, body, form, file) with type and constraints."""
    from .binding.describe import describe_inputs

    return "; ".join(describe_inputs(getattr(route, "binding", None)))


def routes_table(app) -> list[tuple[str, str, str, str]]:
    """(methods, pattern, handler, parameter types) per route, in registration order.

    The router also answers ``HEAD`` for every ``GET`` route and ``OPTIONS`` (204 with
    ``Allow``) for every pattern that does not declare them; those rows follow, marked
    ``(automatic)``.
    """
    rows = []
    declared: dict[str, set[str]] = {}
    for route in app.router.routes:
        handler = route.handler
        module = getattr(handler, "__module__", "") or ""
        name = f"{module}.{route.name}" if module else route.name
        rows.append((",".join(route.methods), route.pattern, name, _param_types(route)))
        declared.setdefault(route.pattern, set()).update(route.methods)
    for pattern, methods in declared.items():
        if "GET" in methods and "HEAD" not in methods:
            rows.append(("HEAD", pattern, "(automatic: the GET handler, no body)", ""))
        if "OPTIONS" not in methods:
            rows.append(("OPTIONS", pattern, "(automatic: 204 with Allow)", ""))
    return rows


def routes_json(app) -> list[dict[str, str]]:
    """:func:`routes_table` as JSON objects (``conduit routes --json``)."""
    keys = ("methods", "pattern", "handler", "parameters")
    return [dict(zip(keys, row)) for row in routes_table(app)]


def _print_routes(app) -> int:
    rows = [("METHOD", "PATTERN", "HANDLER", "PARAMETERS")] + routes_table(app)
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    return 0


def _check_routes(target: str, as_json: bool = False) -> int:
    """``conduit routes TARGET --check [--json]``: the table, then the findings; 1 if any error.

    The analysis is :func:`conduit.routing.checks.check_app`; this is its printing.
    """
    import json
    from dataclasses import asdict

    from .routing.checks import check_app
    from .routing.router import RouteError

    try:
        app = load_target(target)
    except RouteError as exc:
        if as_json:
            print(json.dumps({"routes": [], "findings": [{"level": "error", "route": "", "message": str(exc)}],
                              "errors": 1, "warnings": 0}, indent=2))
        else:
            print(f"error: {exc}")
        return 1
    findings = check_app(app)
    errors = sum(f.level == "error" for f in findings)
    if as_json:
        print(json.dumps({"routes": routes_json(app),
                          "findings": [asdict(f) for f in findings],
                          "errors": errors, "warnings": len(findings) - errors}, indent=2))
        return 1 if errors else 0
    _print_routes(app)
    print()
    for finding in findings:
        print(finding)
    warnings = len(findings) - errors
    print(f"{errors} error(s), {warnings} warning(s)")
    return 1 if errors else 0


_OPERATIONS = ("max_memory", "max_memory_hard", "max_concurrency", "concurrency_queue", "queue_timeout",
               "latency_target", "max_requests", "max_requests_jitter", "worker_timeout")


def _size(text: str) -> int:
    from .admission.memory import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_operations_arguments(run: argparse.ArgumentParser) -> None:
    """Load shedding and worker recycling (docs/operations.md); all off by default."""
    run.add_argument("--max-memory", type=_size, help="RSS past which new requests get 503, e.g. 1GB (off)")
    run.add_argument("--max-memory-hard", type=_size, help="--workers: a worker past this RSS is replaced (1.5x --max-memory)")
    run.add_argument("--max-concurrency", type=int, help="requests in flight before queuing (off)")
    run.add_argument("--concurrency-queue", type=int, help="requests that may wait for a slot (max-concurrency/4)")
    run.add_argument("--queue-timeout", type=float, default=1.0, help="seconds a queued request waits (1)")
    run.add_argument("--latency-target", type=float, help="adapt the concurrency cap (AIMD) to this latency, s")
    run.add_argument("--max-requests", type=int, help="replace a worker after about this many requests (off)")
    run.add_argument("--max-requests-jitter", type=int, default=0, help="random extra requests per worker (0)")
    run.add_argument("--worker-timeout", type=float, help="kill a worker whose event loop is stuck this long, s")
    run.add_argument("--no-preload", dest="preload", action="store_false",
                     help="--workers: load kernels in each worker instead of once before forking")


def _operations_options(args: argparse.Namespace) -> dict[str, Any]:
    options = {name: getattr(args, name) for name in _OPERATIONS if getattr(args, name) is not None}
    options["preload"] = args.preload
    return options


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["mcp"]:
        from .mcp.cli import main as mcp_main

        return mcp_main(argv[1:])
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="conduit", description="Conduit: run an app, print its route table, serve an MCP server.",
        epilog="Run 'conduit COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"conduit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve MODULE:APP with the trio + h11 server")
    run.add_argument("target", help="MODULE:APP, e.g. examples.hello:app")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    run.add_argument("--access-log", action="store_true",
                     help="print one line per request: client, method, path, status, bytes, duration")
    # Production settings: defaults and meaning in ServerConfig and docs/production.md.
    run.add_argument("--workers", type=int, default=1, help="worker processes sharing the socket (1)")
    run.add_argument("--max-connections", type=int, default=1000, help="open connections before 503 (1000)")
    run.add_argument("--max-head-size", type=int, default=16 * 1024, help="request head bytes before 431 (16384)")
    # The app's limits (Conduit(max_body_size=...)): a flag overrides the app's value.
    run.add_argument("--max-body-size", type=int, default=None,
                     help="body bytes before 413 (the app's; 1048576 by default)")
    run.add_argument("--head-timeout", type=float, default=10.0, help="seconds for a whole request head (10)")
    run.add_argument("--body-timeout", type=float, default=10.0, help="longest body silence, seconds (10)")
    run.add_argument("--keepalive-timeout", type=float, default=5.0, help="idle keep-alive seconds (5)")
    run.add_argument("--handler-timeout", type=float, default=None,
                     help="seconds before 504 (the app's; 30 by default)")
    run.add_argument("--websocket-max-message-size", type=int, default=None,
                     help="WebSocket message bytes before close 1009 (the app's; 1048576 by default)")
    run.add_argument("--grace-period", type=float, default=30.0, help="shutdown drain seconds (30)")
    run.add_argument("--ssl-certfile", default=None, help="PEM certificate chain: serve HTTPS")
    run.add_argument("--ssl-keyfile", default=None, help="PEM private key for --ssl-certfile")
    run.add_argument("--proxy-headers", action="store_true",
                     help="take the client, scheme and host from X-Forwarded-For/-Proto/-Host, "
                          "only when the connection comes from --forwarded-allow-ips")
    run.add_argument("--forwarded-allow-ips", default=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
                     help="comma-separated proxy addresses or networks trusted with --proxy-headers, or '*' "
                          "(default: $FORWARDED_ALLOW_IPS or 127.0.0.1)")
    run.add_argument("--reload", action="store_true",
                     help="development: restart the server when a .py file under --reload-dir changes (watchfiles)")
    run.add_argument("--reload-dir", action="append", default=None, metavar="DIR",
                     help="a folder --reload watches (repeatable; default: the current directory)")
    _add_operations_arguments(run)
    routes = commands.add_parser("routes", help="print the route table of MODULE:APP")
    routes.add_argument("target")
    routes.add_argument("--check", action="store_true",
                        help="also analyse the routes (shadowing, binding, slashes); exit 1 on errors")
    routes.add_argument("--json", action="store_true", help="print JSON (for CI) instead of a table")
    routes.add_argument("--stats", metavar="URL",
                        help="read a running server's statistics endpoint; print hot routes first, with hints")
    build = commands.add_parser("build", help="compile every kernel MODULE:APP uses into a cache folder")
    build.add_argument("target", help="MODULE:APP, e.g. examples.demo:app")
    build.add_argument("--cache", required=True, metavar="DIR",
                       help="the folder to fill (NUMBA_CACHE_DIR for conduit run; it may be read-only then)")
    from .bench.command import add_arguments as add_bench_arguments

    add_bench_arguments(commands.add_parser(
        "bench", help="write an asv suite for MODULE:APP's routes, run it, print the routes by cost"))
    commands.add_parser("mcp", help="serve MODULE:MCP over stdio or HTTP (options: conduit mcp --help)")
    args = parser.parse_args(argv)

    if args.command == "routes":
        if args.stats:
            from .observability.report import main_stats

            return main_stats(load_target(args.target), args.stats, as_json=args.json)
        if args.check:
            return _check_routes(args.target, as_json=args.json)
        if args.json:
            import json

            print(json.dumps(routes_json(load_target(args.target)), indent=2))
            return 0
        return _print_routes(load_target(args.target))
    if args.command == "build":
        return _build(args.target, args.cache)
    if args.command == "bench":
        from .bench.command import main_bench

        return main_bench(args)
    if args.reload:
        from .server.reload import run_reloading

        return run_reloading(argv, args.reload_dir or [os.getcwd()])
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = _load_app_talking(args.target)
    if args.proxy_headers:
        from .middleware.proxy_headers import install_proxy_headers

        try:
            install_proxy_headers(app, args.forwarded_allow_ips)
        except ValueError as exc:
            raise SystemExit(f"error: {exc}") from None
    app.run(host=args.host, port=args.port, workers=args.workers, max_connections=args.max_connections,
            max_head_size=args.max_head_size, max_body_size=args.max_body_size,
            head_timeout=args.head_timeout, body_timeout=args.body_timeout,
            keepalive_timeout=args.keepalive_timeout, handler_timeout=args.handler_timeout,
            websocket_max_message_size=args.websocket_max_message_size,
            grace_period=args.grace_period, ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile,
            access_log=args.access_log, **_operations_options(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
