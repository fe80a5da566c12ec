"""The public API never changes under a client's feet.

``openapi-v1.json`` is the document as it stood before the packages were renamed (issue 9). Every
operation in it must still exist with the same operation id, parameters, request body and
response codes, and every schema it names must keep its fields and their types. New operations
and fields may be added; tighter validation (bounds, lengths, patterns) and better descriptions
are allowed, since they do not change what a correct client sends or reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.config import Settings
from gateway.main import create_app

CONTRACT = json.loads((Path(__file__).with_name("openapi-v1.json")).read_text())
METHODS = ("get", "post", "put", "patch", "delete")
# Keys that describe or constrain a value without changing its shape.
FREE = {
    "description", "title", "examples", "example", "default", "maximum", "minimum",
    "exclusiveMaximum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems",
    "minItems", "format", "summary",
}  # fmt: skip


@pytest.fixture(scope="module")
def current() -> dict[str, Any]:
    app = create_app(Settings(_env_file=None))  # type: ignore[call-arg]
    return json.loads(json.dumps(app.openapi()))


def _shape(node: Any) -> Any:
    """``node`` without the free keys, recursively."""
    if isinstance(node, dict):
        return {k: _shape(v) for k, v in node.items() if k not in FREE}
    if isinstance(node, list):
        return [_shape(v) for v in node]
    return node


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def _params(op: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {(p["name"], p["in"]): (p.get("required", False), _shape(p["schema"])) for p in
            op.get("parameters", [])}  # fmt: skip


OPS = sorted(_operations(CONTRACT))


def test_contract_is_not_empty() -> None:
    assert len(OPS) >= 40


@pytest.mark.parametrize("key", OPS, ids=lambda k: f"{k[1].upper()} {k[0]}")
def test_operation_unchanged(current: dict[str, Any], key: tuple[str, str]) -> None:
    before = _operations(CONTRACT)[key]
    now = _operations(current).get(key)
    assert now is not None, f"{key} disappeared"
    assert now["operationId"] == before["operationId"]
    assert _params(now) == _params(before)
    assert _shape(now.get("requestBody")) == _shape(before.get("requestBody"))
    assert set(before["responses"]) <= set(now["responses"])
    for code, answer in before["responses"].items():
        assert _shape(now["responses"][code].get("content")) == _shape(answer.get("content"))


@pytest.mark.parametrize("name", sorted(CONTRACT["components"]["schemas"]))
def test_schema_keeps_its_fields(current: dict[str, Any], name: str) -> None:
    before = CONTRACT["components"]["schemas"][name]
    now = current["components"]["schemas"].get(name)
    assert now is not None, f"schema {name} disappeared"
    old_props = before.get("properties", {})
    new_props = now.get("properties", {})
    for field, spec in old_props.items():
        assert field in new_props, f"{name}.{field} disappeared"
        assert _shape(new_props[field]) == _shape(spec), f"{name}.{field} changed type"
    assert set(now.get("required", [])) <= set(before.get("required", [])) | (
        set(new_props) - set(old_props)
    ), f"{name}: a field that was optional became required"
