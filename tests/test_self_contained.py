"""A clone in any folder passes: nothing the tests, benchmarks or scripts read lies outside the repo.

The static check reads every test, benchmark and script for absolute paths into the
development machine and for ``Path(__file__)`` climbs above the repository root. The
slow check does what CI does (``.ci/run``): clone the repository into an empty
temporary folder and run the tests that read data files from there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ["tests", "asv_bench", "scripts", "examples", ".ci"]
SKIP_PARTS = {"node_modules", "__pycache__", ".asv", "data"}
OUTSIDE = re.compile(r"""(/work/|\.\./shared|["']shared["']\s*/|/home/\w+/|/Users/\w+/)""")
PARENTS = re.compile(r"__file__\)(?:\.resolve\(\))?\.parents\[(\d+)\]")
PARENT_CHAIN = re.compile(r"__file__\)(?:\.resolve\(\))?((?:\.parent)+)(?!s)")


def _files():
    for top in SCANNED:
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and not SKIP_PARTS & set(path.relative_to(ROOT).parts) and (
                    path.suffix in {".py", ".sh", ".json", ".toml", ".cfg", ".ini"} or path.parent.name == ".ci"):
                yield path
    yield ROOT / "dev"  # (the Dockerfile's paths are inside the image: not scanned)


def test_nothing_reads_a_path_outside_the_repo():
    this = Path(__file__).resolve()
    problems = []
    for path in _files():
        if path.resolve() == this:
            continue
        text = path.read_text(errors="replace")
        rel = path.relative_to(ROOT)
        for match in OUTSIDE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"{rel}:{line}: {match.group(0)!r} points outside the repository")
        for match in PARENTS.finditer(text):
            if len(path.parents) <= int(match.group(1)) or not path.parents[int(match.group(1))].is_relative_to(ROOT):
                problems.append(f"{rel}: Path(__file__).parents[{match.group(1)}] leaves the repository")
        for match in PARENT_CHAIN.finditer(text):
            climbs = match.group(1).count(".parent")
            if not path.parents[climbs - 1].is_relative_to(ROOT):
                problems.append(f"{rel}: Path(__file__){match.group(1)} leaves the repository")
    assert not problems, "\n".join(problems)


def test_the_data_files_are_in_the_repo_with_their_origin():
    data = ROOT / "tests" / "data"
    readme = (data / "README.md").read_text()
    for name in ("github_api_routes.txt", "mcp/schema-2025-11-25.json", "mcp/schema-2026-07-28.json"):
        assert (data / name).stat().st_size > 0 and name.split("/")[-1] in readme


@pytest.mark.slow
def test_the_data_reading_tests_pass_from_a_fresh_clone_elsewhere(tmp_path):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an sdist or a copied tree): nothing to clone")
    clone = tmp_path / "elsewhere" / "conduit"
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(ROOT), str(clone)], check=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(clone), str(clone / "kernels")])}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "github or schema",
         "tests/kernels/test_routing.py", "tests/conduit/mcp/test_schema.py"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert " passed" in out.stdout and " skipped" not in out.stdout, out.stdout[-2000:]
