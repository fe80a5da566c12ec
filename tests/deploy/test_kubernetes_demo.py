"""The sim-demo overlay (deploy/kubernetes/overlays/sim-demo): simulated terminals, a demo
PostgreSQL, what its NetworkPolicy allows, the "restricted" Pod Security Standard, and the
Secrets its demo-secrets.sh prints (validated, random, consistent, accepted by the gateway);
and the runbook's secret commands against the templates."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from kubernetes_support import (
    OVERLAYS,
    Doc,
    Pod,
    containers,
    get,
    load,
    may_connect,
    of_kind,
    render,
    schema_validator,
    workloads,
)
from test_kubernetes import (
    GATEWAY,
    SCHEMA_VERSIONS,
    SECRET_TEMPLATES,
    TERMINAL,
    terminal_container,
)

from gateway.auth.verifier import make_verifier
from gateway.config import Settings, parse_terminals

pytestmark = pytest.mark.needs_binary("kubectl")
kubernetes_validate = schema_validator()

DEMO_SECRETS = OVERLAYS["sim-demo"] / "demo-secrets.sh"
REPO = OVERLAYS["sim-demo"].parents[3]


@pytest.fixture(scope="module")
def demo() -> list[Doc]:
    return render(OVERLAYS["sim-demo"])


def demo_secrets(*args: str) -> dict[str, Doc]:
    out = subprocess.run(
        ["bash", str(DEMO_SECRETS), *args], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return {d["metadata"]["name"]: d for d in load(out)}


def test_sim_demo_terminals_database_and_policies(demo: list[Doc]) -> None:
    docs = demo
    sts = get(docs, "StatefulSet", "mt5-terminal")
    assert "volumeClaimTemplates" not in sts["spec"] and sts["spec"]["replicas"] == 1
    container = terminal_container(docs)
    assert container["image"].startswith("mt5-gateway/terminal-sim:")
    env = {e["name"]: e.get("value") for e in container["env"]}
    terminals = get(docs, "ConfigMap", "mt5-gateway-config")["data"]["TERMINALS"]
    ports = [e.port for e in parse_terminals(terminals)]
    assert ports == [8001 + i for i in range(int(env["SIM_TERMINALS"] or 0))]
    assert {p["containerPort"] for p in container["ports"]} == set(ports)
    service_ports = {p["port"] for p in get(docs, "Service", "mt5-terminal")["spec"]["ports"]}
    assert service_ports == set(ports)
    policies = of_kind(docs, "NetworkPolicy")
    gateway, terminal = Pod(GATEWAY), Pod(TERMINAL)
    database = Pod({**GATEWAY, "app.kubernetes.io/component": "demo-postgres"})
    assert all(may_connect(policies, gateway, terminal, p) for p in ports)
    assert may_connect(policies, gateway, database, 5432)
    assert not may_connect(policies, terminal, database, 5432)
    assert not may_connect(policies, gateway, terminal, max(ports) + 1)


def test_sim_demo_meets_the_restricted_pod_security_standard(demo: list[Doc]) -> None:
    docs = demo
    labels = get(docs, "Namespace", "mt5-gateway")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    for workload in workloads(docs):
        spec = workload["spec"]["template"]["spec"]
        for c in containers(workload):
            run_as_non_root = c["securityContext"].get("runAsNonRoot")
            assert (run_as_non_root or spec["securityContext"].get("runAsNonRoot")) is True
            assert set(c["securityContext"]["capabilities"].get("add", [])) <= {"NET_BIND_SERVICE"}
        kinds = {next(iter(set(v) - {"name"})) for v in spec.get("volumes", [])}
        assert kinds <= {"emptyDir", "projected", "secret", "configMap", "persistentVolumeClaim"}


def test_sim_demo_runs_unprivileged_like_the_compose_sim(demo: list[Doc]) -> None:
    spec = get(demo, "StatefulSet", "mt5-terminal")["spec"]["template"]["spec"]
    dockerfile = (REPO / "terminal-image" / "Dockerfile.sim").read_text()
    assert f"USER {spec['securityContext']['runAsUser']}:" in dockerfile
    assert spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_demo_secrets_validate_and_cover_every_reference(demo: list[Doc], version: str) -> None:
    secrets = demo_secrets()
    for doc in secrets.values():
        kubernetes_validate.validate(doc, version, strict=True)
        assert doc["metadata"]["namespace"] == "mt5-gateway"
    referenced: dict[str, set[str]] = {}
    for workload in workloads(demo):
        spec = workload["spec"]["template"]["spec"]
        for c in containers(workload):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    referenced.setdefault(ref["name"], set()).add(ref["key"])
            for e in c.get("envFrom", []):
                if "secretRef" in e:
                    referenced.setdefault(e["secretRef"]["name"], set())
        for volume in spec.get("volumes", []):
            for source in volume.get("projected", {}).get("sources", []):
                secret = source["secret"]
                keys = {i["key"] for i in secret["items"]}
                referenced.setdefault(secret["name"], set()).update(keys)
    for name, keys in referenced.items():
        assert keys <= set(secrets[name]["stringData"]), name


def test_demo_secrets_are_fresh_consistent_and_accepted(demo: list[Doc]) -> None:
    first, second = demo_secrets(), demo_secrets("--namespace", "other")
    assert second["mt5-terminal-0"]["metadata"]["namespace"] == "other"
    gateway = first["mt5-gateway-secrets"]["stringData"]
    assert gateway["TERMINAL_SECRET"] == first["mt5-terminal-0"]["stringData"]["rpyc_secret"]
    password = first["mt5-demo-postgres"]["stringData"]["password"]
    assert f":{password}@demo-postgres:5432/" in gateway["DATABASE_URL"]
    for key in gateway:
        if key != "SUPABASE_URL" and key != "DATABASE_URL":
            assert gateway[key] != second["mt5-gateway-secrets"]["stringData"][key], key
    config = get(demo, "ConfigMap", "mt5-gateway-config")["data"]
    values = {k.lower(): v for k, v in {**config, **gateway}.items()}
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    assert not settings.is_production and settings.has_default_account
    assert settings.jwt_issuer == "http://supabase.invalid/auth/v1"
    assert len(settings.terminal_endpoints()) == 2
    # Real random values, not placeholders: production mode would take them too.
    production = Settings(_env_file=None, **{**values, "environment": "production"})  # type: ignore[call-arg]
    assert production.is_production and not production.may_use_default_account("someone")


def test_demo_secrets_refuses_a_bad_namespace() -> None:
    result = subprocess.run(
        ["bash", str(DEMO_SECRETS), "--namespace", "Bad_Name"], capture_output=True, text=True
    )
    assert result.returncode == 64 and not result.stdout


def test_demo_secrets_script_passes_shellcheck(shellcheck_bin: str) -> None:
    result = subprocess.run([shellcheck_bin, str(DEMO_SECRETS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_runbooks_demo_token_is_accepted(demo: list[Doc], tmp_path: Path) -> None:
    """The token the runbook mints for the demo (scripts/dev_token.py with the demo's
    SUPABASE_URL and HS256 secret) passes the verifier the demo gateways build."""
    gateway = demo_secrets()["mt5-gateway-secrets"]["stringData"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "MT5_"))}
    env.update(
        SUPABASE_URL=gateway["SUPABASE_URL"],
        SUPABASE_JWT_SECRET=gateway["SUPABASE_JWT_SECRET"],
        DEV_SECRETS_FILE=str(tmp_path / "dev-secrets.json"),
    )
    token = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "dev_token.py")],
        env=env, cwd=tmp_path, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    config = get(demo, "ConfigMap", "mt5-gateway-config")["data"]
    values = {k.lower(): v for k, v in {**config, **gateway}.items()}
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]

    async def verify() -> str:
        async with httpx.AsyncClient() as http:
            return (await make_verifier(settings, http).principal(token)).user.id

    assert asyncio.run(verify()) == "00000000-0000-4000-8000-000000000001"


def test_runbook_creates_the_secrets_the_templates_name() -> None:
    runbook = (REPO / "deploy" / "RUNBOOK.md").read_text()
    chapter = runbook[runbook.index("## 12. Beyond one VPS") :]
    templates = {d["metadata"]["name"]: d for d in load(SECRET_TEMPLATES)}
    lines = chapter.replace("\\\n", " ").splitlines()
    created = {
        m.group(1).strip('"'): set(re.findall(r"--from-literal=(\w+)=", line))
        for line in lines
        if (m := re.search(r"create secret generic (\S+)", line))
    }
    assert created["mt5-gateway-secrets"] == set(templates["mt5-gateway-secrets"]["stringData"])
    assert created["mt5-terminal-$n"] == set(templates["mt5-terminal-0"]["stringData"])
