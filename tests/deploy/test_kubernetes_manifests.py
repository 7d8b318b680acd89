"""deploy/kubernetes/ validates offline: Kubernetes' own schemas (kubernetes-validate ships
them) for the built-in kinds, the shipped CRD-derived schema for the ServiceMonitor, and
the cross-references that a schema cannot see (labels, ports, probes, user, grace period)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="in the test extra (kubernetes-validate)")

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.33.0"


def documents() -> dict[str, dict]:
    docs = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs[doc["kind"]] = doc
    return docs


DOCS = documents()


@pytest.mark.parametrize("kind", ["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"])
def test_builtin_kinds_validate_strictly_against_the_kubernetes_schema(kind):
    kubernetes_validate.validate(DOCS[kind], KUBERNETES_VERSION, strict=True)


def test_a_misspelt_field_is_caught():
    broken = json.loads(json.dumps(DOCS["Deployment"]))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_servicemonitor_validates_against_the_shipped_crd_schema():
    schema = json.loads((DEPLOY / "schemas" / "servicemonitor-v1.json").read_text())
    jsonschema.validate(DOCS["ServiceMonitor"], schema)
    broken = json.loads(json.dumps(DOCS["ServiceMonitor"]))
    broken["spec"]["endpoints"][0]["interval"] = "every 15 seconds"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def _container() -> dict:
    return DOCS["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def _arg(name: str) -> str:
    args = _container()["args"]
    return args[args.index(name) + 1]


def test_probes_use_health_and_ready_on_the_served_port():
    c = _container()
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports[c["readinessProbe"]["httpGet"]["port"]] == int(_arg("--port"))


def test_security_context_runs_as_the_images_user():
    uid = int(re.search(r"useradd[^\n]*--uid (\d+)", (ROOT / "Dockerfile").read_text()).group(1))
    pod = DOCS["Deployment"]["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsUser"] == uid and pod["runAsNonRoot"] is True
    assert _container()["securityContext"]["allowPrivilegeEscalation"] is False


def test_termination_grace_outlasts_the_pre_stop_pause_and_the_drain():
    spec = DOCS["Deployment"]["spec"]["template"]["spec"]
    pause = _container()["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert spec["terminationGracePeriodSeconds"] > pause + float(_arg("--grace-period"))


def test_the_args_are_ones_the_cli_accepts():
    from conduit.cli import main

    args = _container()["args"]
    assert args[:2] == ["conduit", "run"]
    with pytest.raises(SystemExit) as exit_info:  # --help after the real flags: parsing them must succeed
        main(args[1:] + ["--help"])
    assert exit_info.value.code == 0


def test_service_hpa_pdb_and_monitor_point_at_the_deployment():
    labels = DOCS["Deployment"]["spec"]["template"]["metadata"]["labels"]
    service = DOCS["Service"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert DOCS["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert DOCS["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == DOCS["Deployment"]["metadata"]["name"]
    monitor = DOCS["ServiceMonitor"]["spec"]
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert {e["port"] for e in monitor["endpoints"]} <= {p["name"] for p in service["spec"]["ports"]}
    assert DOCS["Deployment"]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]


def test_the_core_image_installs_no_extras_and_runs_as_the_same_user():
    full, core = (ROOT / "Dockerfile").read_text(), (ROOT / "Dockerfile.core").read_text()
    wheel = next(line for line in core.splitlines() if line.startswith("RUN pip wheel"))
    assert "ml" not in wheel and "vector" not in wheel  # no ML extras
    uid = re.compile(r"useradd[^\n]*--uid (\d+)")
    assert uid.search(full).group(1) == uid.search(core).group(1)
