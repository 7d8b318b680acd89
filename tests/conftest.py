"""Shared fixtures and the CI rule for tool-dependent tests.

``-m 'not slow'`` skips the load/soak/tool-suite tests locally. Tests that need an
external tool (wrk, chromium, redis-server, the MCP conformance suite) skip where
it is missing on a developer's machine, but under CI (``CI`` set) such a skip is a
failure: CI installs every tool, so a missing one is a broken setup, not a reason.
"""

import os

import numpy as np
import pytest

_MISSING_TOOL = ("not installed", "not available")


@pytest.fixture
def rng():
    return np.random.default_rng(20261127)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and any(t in str(report.longrepr) for t in _MISSING_TOOL):
        report.outcome = "failed"
        report.longrepr = f"CI must provide every tool the tests use: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_collect_file(file_path, parent):
    """pytest-markdown-docs runs the code blocks of README.md and docs/ (``--markdown-docs``
    in pyproject.toml); it would also import every .py file here to read code blocks in
    docstrings, which this suite does not use: keep it to Markdown."""
    outcome = yield
    if file_path.suffix == ".py":
        outcome.force_result([item for item in outcome.get_result()
                              if type(item).__name__ != "MarkdownDocstringCodeModule"])
