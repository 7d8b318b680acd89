"""scripts/install-system-deps.sh: says before it installs as root, and never fails halfway without apt."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "install-system-deps.sh"
TOOLS = "wrk chromium redis-server npm"


def _run(bin_dir: Path, **env: str) -> subprocess.CompletedProcess:
    """The script with only ``bin_dir`` on PATH: every tool is missing."""
    return subprocess.run(["/bin/bash", str(SCRIPT)], capture_output=True, text=True, timeout=60,
                          env={"PATH": str(bin_dir), **env})


def _fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(0o755)


def test_without_apt_it_names_what_to_install_and_lets_the_tests_run(tmp_path):
    out = _run(tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"missing system tools: {TOOLS} (apt-get is not available on this machine)" in out.stderr
    assert "install them with your package manager" in out.stderr and "skipped with a reason" in out.stderr


def test_without_apt_under_ci_it_stops_before_the_tests(tmp_path):
    out = _run(tmp_path, CI="1")
    assert out.returncode == 1
    assert "CI needs every tool; stopping before the tests" in out.stderr


def test_it_announces_the_root_apt_install_before_running_it(tmp_path):
    log = tmp_path / "apt.log"
    _fake(tmp_path, "id", "echo 0")
    _fake(tmp_path, "apt-get", f'echo "$@" >> {log}')
    out = _run(tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"conduit: installing Debian packages as root with apt-get: {TOOLS}" in out.stderr
    assert log.read_text().splitlines() == ["update -qq", f"install -y -qq {TOOLS}"]


def test_conduit_no_apt_skips_the_install(tmp_path):
    _fake(tmp_path, "id", "echo 0")
    _fake(tmp_path, "apt-get", "exit 99")
    out = _run(tmp_path, CONDUIT_NO_APT="1")
    assert out.returncode == 0 and "CONDUIT_NO_APT is set" in out.stderr


def test_without_root_or_passwordless_sudo_it_says_so(tmp_path):
    _fake(tmp_path, "id", "echo 1000")
    _fake(tmp_path, "apt-get", "exit 99")
    out = _run(tmp_path)
    assert out.returncode == 0 and "needs root, and sudo is not available without a password" in out.stderr


def _without(env, name: str) -> dict[str, str]:
    """``env`` less ``name`` (a developer's KEEP_CLONE=1 must not leak into the check of the cleanup)."""
    return {key: value for key, value in env.items() if key != name}


def test_the_ci_script_runs_dev_test_in_a_fresh_clone_in_a_temporary_folder(tmp_path):
    """.ci/run on a throwaway repository whose ./dev reports where it runs and what lies beside it."""
    repo = tmp_path / "checkout"
    (repo / ".ci").mkdir(parents=True)
    (repo / ".ci" / "run").write_text((ROOT / ".ci" / "run").read_text())
    (repo / ".ci" / "run").chmod(0o755)
    _fake(repo, "dev", 'echo "cwd=$PWD args=$* beside=$(ls .. | tr "\\n" " ")"; '
                       'test -f untracked.txt && echo "untracked file seen"; exit 0')
    (tmp_path / "neighbour.txt").write_text("lies beside the checkout")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "x"], check=True)
    (repo / "untracked.txt").write_text("not committed")
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = subprocess.run([str(repo / ".ci" / "run"), "-k", "x"], capture_output=True, text=True, timeout=120,
                         env={**_without(os.environ, "KEEP_CLONE"), "TMPDIR": str(temp)})
    assert out.returncode == 0, out.stderr
    cwd = out.stdout.split("cwd=")[1].split()[0]
    assert Path(cwd).parent.parent == temp and Path(cwd).name == "conduit"
    assert "args=test -q -k x" in out.stdout and "beside=conduit " in out.stdout
    assert "untracked file seen" not in out.stdout
    assert list(temp.iterdir()) == []  # the clone is removed afterwards
