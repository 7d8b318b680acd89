"""``conduit run --reload``: restart the server when the code changes (development only).

The reloader never imports the app: it runs ``conduit run`` (the same arguments, less
``--reload``) as a child process and, through :func:`watchfiles.run_process`, stops and
restarts it when a ``.py`` file under the watched folders changes. A syntax error in the
edited file is the child's to report; the reloader keeps watching for the fix.
"""

from __future__ import annotations

import shlex
import sys


def _without_reload(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--reload":
            continue
        if arg == "--reload-dir":
            skip = True
            continue
        if arg.startswith("--reload-dir="):
            continue
        out.append(arg)
    return out


def run_reloading(argv: list[str], folders: list[str]) -> int:
    """Serve ``conduit`` ``argv`` (without ``--reload``) in a child, restarted on changes."""
    try:
        import watchfiles
    except ImportError:
        raise SystemExit("error: --reload needs watchfiles: pip install watchfiles "
                         "(or the conduit[dev] extra)") from None
    command = [sys.executable, "-m", "conduit.cli", *_without_reload(argv)]
    print(f"conduit: reloading on changes to .py files under {', '.join(folders)}", file=sys.stderr, flush=True)
    watchfiles.run_process(*folders, target=shlex.join(command), target_type="command",
                           watch_filter=watchfiles.PythonFilter(), callback=_say_restart)
    return 0


def _say_restart(changes: set) -> None:
    names = sorted({path for _, path in changes})[:3]
    print(f"conduit: changed {', '.join(names)}: restarting", file=sys.stderr, flush=True)


__all__ = ["run_reloading"]
