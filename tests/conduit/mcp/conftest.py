"""Shared fixtures for the MCP tests: the everything example, schema validators."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCHEMAS = ROOT / "tests" / "data" / "mcp"  # the official schemas, vendored (tests/data/README.md)


def load_example(name: str) -> Any:
    """Import examples/mcp/<name>.py as a fresh module (examples are not a package)."""
    path = ROOT / "examples" / "mcp" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"mcp_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def everything() -> Any:
    return load_example("everything")


class SchemaChecker:
    """Validates server messages against the official JSON schema of a revision."""

    def __init__(self, version: str) -> None:
        import jsonschema

        path = SCHEMAS / f"schema-{version}.json"
        self.schema = json.loads(path.read_text())
        self._jsonschema = jsonschema
        self._validators: dict[str, Any] = {}

    def check(self, definition: str, instance: Any) -> None:
        validator = self._validators.get(definition)
        if validator is None:
            sub = {"$ref": f"#/$defs/{definition}", "$defs": self.schema["$defs"]}
            validator = self._validators[definition] = self._jsonschema.Draft202012Validator(sub)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        assert not errors, f"{definition}: {errors[0].message} at {list(errors[0].path)}"


@pytest.fixture(scope="session")
def schema_2025() -> SchemaChecker:
    return SchemaChecker("2025-11-25")


@pytest.fixture(scope="session")
def schema_2026() -> SchemaChecker:
    return SchemaChecker("2026-07-28")


@pytest.fixture
def load_mcp_example():
    """``load_mcp_example("filesystem")`` imports an example afresh (after env changes)."""
    return load_example
