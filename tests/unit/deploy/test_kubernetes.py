"""deploy/kubernetes: every built-in object is valid against Kubernetes' own JSON schemas (kubernetes-validate ships
them: offline, strict, so a misspelt field fails); KEDA's objects against a minimal schema of the fields used (KEDA's
CRDs are not in those schemas). The manifests agree with the code: probe paths, queue list names, secret keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes_validate import utils as kubernetes

from schemas.keys import queue_names
from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.37.0"
KEDA = "keda.sh/v1alpha1"

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
SCALED_OBJECT = {  # KEDA 2.x ScaledObject: the fields deploy/kubernetes uses, nothing else allowed
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": KEDA},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "kind": {"type": "string"}},
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"const": "redis"},
                            "metadata": {
                                **_STRING_MAP,
                                "required": ["address", "listName", "listLength"],
                                "propertyNames": {
                                    "enum": [
                                        "address",
                                        "listName",
                                        "listLength",
                                        "activationListLength",
                                        "databaseIndex",
                                    ]
                                },
                            },
                            "authenticationRef": {
                                "type": "object",
                                "required": ["name"],
                                "additionalProperties": False,
                                "properties": {"name": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        },
    },
}
TRIGGER_AUTHENTICATION = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": KEDA},
        "kind": {"const": "TriggerAuthentication"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "secretTargetRef": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["parameter", "name", "key"],
                        "properties": {k: {"type": "string"} for k in ("parameter", "name", "key")},
                    },
                }
            },
        },
    },
}


def load_all() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    listed = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in MANIFESTS.glob("*.yaml") if p.name != "kustomization.yaml")
    for name in listed:
        documents += [d for d in yaml.safe_load_all((MANIFESTS / name).read_text()) if d]
    return documents


DOCUMENTS = load_all()


def named(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in DOCUMENTS if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.mark.parametrize(
    "document",
    [d for d in DOCUMENTS if not d["apiVersion"].startswith("keda.sh/")],
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_kubernetes_objects_are_valid_against_the_kubernetes_schemas(document: dict[str, Any]) -> None:
    kubernetes.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_check_catches_a_misspelt_field() -> None:
    broken = yaml.safe_load(yaml.safe_dump(named("Deployment", "sdqueue-worker")))
    broken["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(kubernetes.ValidationError):
        kubernetes.validate(broken, KUBERNETES_VERSION, strict=True)


def test_keda_objects_match_the_fields_keda_takes() -> None:
    schemas = {"ScaledObject": SCALED_OBJECT, "TriggerAuthentication": TRIGGER_AUTHENTICATION}
    keda = [d for d in DOCUMENTS if d["apiVersion"] == KEDA]
    assert sorted(d["kind"] for d in keda) == sorted(schemas)
    for document in keda:
        jsonschema.Draft202012Validator(schemas[document["kind"]]).validate(document)


def test_the_workers_scale_to_zero_on_the_three_queue_lists() -> None:
    scaled = named("ScaledObject", "sdqueue-worker")["spec"]
    assert scaled["minReplicaCount"] == 0 and scaled["scaleTargetRef"]["name"] == "sdqueue-worker"
    lists = {trigger["metadata"]["listName"] for trigger in scaled["triggers"]}
    default_queue = Settings.model_fields["queue_name"].default
    assert lists == {f"rq:queue:{name}" for name in queue_names(default_queue)}
    auth = named("TriggerAuthentication", "sdqueue-redis")["spec"]["secretTargetRef"]
    assert all(t["authenticationRef"]["name"] == "sdqueue-redis" for t in scaled["triggers"]) and auth


def test_workers_request_a_gpu_and_get_time_to_finish_their_job() -> None:
    pod = named("Deployment", "sdqueue-worker")["spec"]["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == 1 == resources["limits"]["nvidia.com/gpu"]
    assert pod["terminationGracePeriodSeconds"] >= 300


def test_api_probes_use_the_health_routes_the_app_has() -> None:
    from server.routes.system import router

    paths = {route.path for route in router.routes}  # type: ignore[attr-defined]
    container = named("Deployment", "sdqueue-api")["spec"]["template"]["spec"]["containers"][0]
    probes = {kind: container[kind]["httpGet"]["path"] for kind in ("livenessProbe", "readinessProbe")}
    assert probes == {"livenessProbe": "/api/health", "readinessProbe": "/api/ready?workers=false"}
    assert {"/api/health", "/api/ready"} <= paths


def test_selectors_match_and_every_secret_key_exists() -> None:
    secret = named("Secret", "sdqueue")["stringData"]
    for document in DOCUMENTS:
        spec = document.get("spec", {})
        if document["kind"] in ("Deployment", "StatefulSet"):
            assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
            for container in spec["template"]["spec"]["containers"]:
                for env in container.get("env", []):
                    ref = env.get("valueFrom", {}).get("secretKeyRef")
                    assert ref is None or (ref["name"] == "sdqueue" and ref["key"] in secret), env
    for name in ("sdqueue-api", "sdqueue-worker"):
        pdb = named("PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"]
        labels = named("Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert pdb.items() <= labels.items()
    service = named("Service", "sdqueue-api")["spec"]["selector"]
    assert service.items() <= named("Deployment", "sdqueue-api")["spec"]["template"]["metadata"]["labels"].items()
