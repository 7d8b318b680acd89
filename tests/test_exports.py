"""The public API: every name exported exactly once, and ``import conduit`` stays light."""

from __future__ import annotations

import subprocess
import sys

import conduit
import conduit_kernels


def test_all_names_resolve_and_are_unique():
    assert len(conduit.__all__) == len(set(conduit.__all__))
    for name in conduit.__all__:
        assert getattr(conduit, name) is not None, name
    assert sorted(dir(conduit)) == sorted(conduit.__all__)


def test_kernels_exports():
    assert len(conduit_kernels.__all__) == len(set(conduit_kernels.__all__))
    for name in conduit_kernels.__all__:
        assert hasattr(conduit_kernels, name), name


def test_unknown_attribute_raises():
    try:
        conduit.DoesNotExist
    except AttributeError as exc:
        assert "DoesNotExist" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


HEAVY = ["numba", "llvmlite", "scipy", "sklearn", "onnxruntime", "onnx", "mcp", "httpx", "prometheus_client", "conduit.mcp",
         "conduit.ml", "conduit.vector", "conduit.testing.client"]


def test_import_conduit_is_light():
    code = ("import sys, conduit; heavy = %r; "
            "print(','.join(m for m in heavy if m in sys.modules))" % HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
