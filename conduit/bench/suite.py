"""The asv suite ``conduit bench`` writes for an app, and what its benchmarks run.

The folder holds ``asv.conf.json`` (the existing environment: the Python that runs
asv), ``conduit-bench.json`` (the app, its sample requests, the duration, the
peer) and ``benchmarks/routes.py``, a thin module whose ``track_*`` benchmarks read
:class:`Suite`. Each ``setup_cache`` measures every route once, in alternating
rounds, and also writes its figures to ``.asv/conduit-bench-<mode>.json`` for
the command's table (with the statuses and load averages asv does not keep).
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .samples import Sample

_MODULE = '''"""asv benchmarks of {target}'s routes, written by `conduit bench` (run it again to rewrite)."""

import json
import sys
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "conduit-bench.json"
for entry in reversed(json.loads(CONFIG.read_text())["sys_path"]):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from conduit.bench.suite import Suite  # noqa: E402

SUITE = Suite(CONFIG)


class InProcess:
    """CPU µs per request through the server's connection, no socket."""

    timeout = SUITE.timeout
    params = SUITE.labels
    param_names = ["route"]

    def setup_cache(self):
        return SUITE.run_in_process()

    def track_cpu_us_per_request(self, results, route):
        return results[route]["cpu_us"]

    track_cpu_us_per_request.unit = "us"
'''

_SOCKET_CLASS = '''

class Socket:
    """Over a socket under wrk: req/s and the server's CPU µs per request, beside the peer."""

    timeout = SUITE.timeout
    params = (SUITE.labels, SUITE.servers)
    param_names = ["route", "server"]

    def setup_cache(self):
        return SUITE.run_sockets()

    def track_req_per_s(self, results, route, server):
        return results[route][server]["req_per_s"]

    track_req_per_s.unit = "req/s"

    def track_server_cpu_us_per_request(self, results, route, server):
        return results[route][server]["cpu_us"]

    track_server_cpu_us_per_request.unit = "us"
'''


def git_toplevel(folder: Path) -> Path | None:
    try:
        done = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(done.stdout.strip()) if done.returncode == 0 else None


def _import_roots() -> list[str]:
    """The folders ``conduit`` and ``conduit_kernels`` are imported from (a checkout or site-packages)."""
    import conduit_kernels

    from .. import __file__ as conduit_init

    return [str(Path(conduit_init).parents[1]), str(Path(inspect.getfile(conduit_kernels)).parents[1])]


def write_suite(folder: Path, *, target: str, project: Path, samples: dict[str, Sample], seconds: float,
                rounds: int, sockets: bool, peer: dict[str, str] | None) -> Path:
    """Write the suite into ``folder`` (created; files of an earlier run replaced); returns asv.conf.json."""
    (folder / "benchmarks").mkdir(parents=True, exist_ok=True)
    toplevel = git_toplevel(project)
    conf = {"version": 1, "project": target.partition(":")[0], "project_url": "",
            "repo": os.path.relpath(toplevel if toplevel else folder, folder),
            "environment_type": "existing", "benchmark_dir": "benchmarks", "env_dir": ".asv/env",
            "results_dir": ".asv/results", "html_dir": ".asv/html", "default_benchmark_timeout": 600}
    if toplevel:  # asv checks its configured branches exist: name the checked-out one
        branch = subprocess.run(["git", "-C", str(project), "rev-parse", "--abbrev-ref", "HEAD"],
                                capture_output=True, text=True, timeout=30).stdout.strip()
        conf.update(dvcs="git", branches=[branch if branch and branch != "HEAD" else "HEAD"])
    config = {"target": target, "project": str(project), "sys_path": [str(project), *_import_roots()],
              "seconds": seconds, "rounds": rounds, "sockets": sockets, "peer": peer,
              "samples": {label: sample.to_json() for label, sample in samples.items()}}
    (folder / "asv.conf.json").write_text(json.dumps(conf, indent=2) + "\n")
    (folder / "conduit-bench.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "benchmarks" / "__init__.py").write_text("")
    module = _MODULE.format(target=target) + (_SOCKET_CLASS if sockets else "")
    (folder / "benchmarks" / "routes.py").write_text(module)
    return folder / "asv.conf.json"


class Suite:
    """What the generated benchmarks run: the app's routes in-process, then over sockets."""

    def __init__(self, config: Path) -> None:
        self.folder = Path(config).parent
        self.config = json.loads(Path(config).read_text())
        self.samples = {label: Sample.from_json(data) for label, data in self.config["samples"].items()}
        self.labels = list(self.samples)
        self.servers = ["conduit"] + (["peer"] if self.config["peer"] else [])
        count = len(self.samples) * len(self.servers) * (2 if self.config["sockets"] else 1)
        self.timeout = 120 + count * max(self.config["seconds"], self.config["rounds"]) * 3

    def _save(self, mode: str, results: dict) -> dict:
        folder = self.folder / ".asv"
        folder.mkdir(exist_ok=True)
        (folder / f"conduit-bench-{mode}.json").write_text(json.dumps(results, indent=1))
        return results

    def run_in_process(self) -> dict:
        from ..targets import load_target
        from .inprocess import measure_in_process

        here = os.getcwd()  # asv keeps setup_cache's result in the working folder: go back before returning
        os.chdir(self.config["project"])  # the app may read files relative to its project at import
        try:
            app = load_target(self.config["target"])
            if inspect.isfunction(app):
                app = app()
        finally:
            os.chdir(here)
        results = measure_in_process(app, self.samples, self.config["seconds"], self.config["rounds"])
        return self._save("in_process", results)

    def run_sockets(self) -> dict:
        from .sockets import Served, conduit_argv, free_port, measure_over_sockets, serve, uvicorn_argv

        project, peer = self.config["project"], self.config["peer"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(self.config["sys_path"] + [os.environ.get(
            "PYTHONPATH", "")])}
        with ExitStack() as stack:
            port = free_port()
            servers = [stack.enter_context(serve("conduit", conduit_argv(self.config["target"], port),
                                                 project, port, env))]
            if peer and peer["kind"] == "asgi":
                port = free_port()
                served = stack.enter_context(serve("peer", uvicorn_argv(peer["value"], port), project, port, env))
                servers.append(served)
            elif peer:
                servers.append(Served("peer", peer["value"]))
            results = measure_over_sockets(servers, self.samples, self.config["seconds"], self.config["rounds"])
        return self._save("sockets", results)


def asv_command() -> list[str] | None:
    """How to run asv with this Python (its console script beside the interpreter, or on PATH)."""
    beside = Path(sys.executable).with_name("asv")
    if beside.exists():
        return [str(beside)]
    import shutil

    found = shutil.which("asv")
    return [found] if found else None


def _machine_known() -> bool:
    """Whether ``~/.asv-machine.json`` already describes this machine (asv names it ``platform.node()``)."""
    import platform

    try:
        return platform.node() in json.loads((Path.home() / ".asv-machine.json").read_text())
    except (OSError, ValueError):
        return False


def run_asv(conf: Path, show: bool) -> tuple[int, str]:
    """``asv run --python=same`` on the suite; results kept under the git HEAD where there is one."""
    command = asv_command()
    if command is None:
        raise RuntimeError("asv is not installed: pip install asv (Conduit's bench extra)")
    argv = command + ["run", "--config", str(conf), "--python=same", "--show-stderr"]
    if json.loads(conf.read_text()).get("dvcs") == "git":
        argv += ["--set-commit-hash", "HEAD"]
    if not _machine_known():  # asv asks about the machine once; answer with its defaults, never overwrite
        machine = subprocess.run(command + ["machine", "--yes", "--config", str(conf)], capture_output=True,
                                 text=True, cwd=conf.parent, timeout=120)
        if machine.returncode:
            return machine.returncode, machine.stdout + machine.stderr
    done = subprocess.run(argv, cwd=conf.parent, text=True, timeout=3600,
                          stdout=None if show else subprocess.PIPE, stderr=subprocess.STDOUT)
    return done.returncode, done.stdout or ""
