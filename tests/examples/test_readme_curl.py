"""Issue 26, item 2: every ``curl`` line of README.md works as written against the running demo.

Before: ``curl -X POST …/ask -d '{"question": …}'`` was 415 (curl sends
application/x-www-form-urlencoded), while ``/models/iris`` took the same request.
After: one body rule (conduit/http/json_body.py, docs/requests.md) and every line answers 2xx.
Each line runs with the real ``curl`` binary; only the port is changed.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conduit import LiveServer

ROOT = Path(__file__).resolve().parents[2]
CURL_LINES = [line for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
              for line in page.read_text().splitlines() if line.lstrip().startswith("curl ")]

pytestmark = pytest.mark.skipif(shutil.which("curl") is None,
                                reason="needs the curl binary (apt-get install curl; CI installs it)")


@pytest.fixture(scope="module")
def demo_url():
    from examples.demo import app

    with LiveServer(app) as live:
        yield live.url


def test_the_readme_has_curl_lines():
    assert len(CURL_LINES) >= 5


@pytest.mark.parametrize("line", CURL_LINES)
def test_curl_line_runs_as_written(demo_url, line):
    command = line.split("  #")[0].strip()
    command = re.sub(r"http://127\.0\.0\.1:8000", demo_url, command)
    args = shlex.split(command)
    args[1:1] = ["--silent", "--show-error", "--max-time", "20", "--write-out", "\n%{http_code}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    assert status.startswith("2"), f"{line!r} answered {status}: {body}"
    assert body.strip(), f"{line!r} answered an empty body"
