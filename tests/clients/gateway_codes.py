"""Every error ``code`` the gateway can answer over HTTP, with its status where one is fixed.

Three sources, so a new code anywhere in gateway/ is found without a list to keep:

- every subclass of :class:`gateway.errors.GatewayError` (after importing every gateway module):
  its ``code`` and ``status``;
- the trade retcode table (:mod:`gateway.trading.retcodes`): every rule of an error answer
  (status >= 400), the gateway's own OUTCOME_UNKNOWN/NOT_EXECUTED and the fallback for an
  unknown retcode;
- the source text of gateway/ (AST): ``code="X"`` given to a call (with that call's
  ``status=`` or the called error class's status), ``"code": "X"`` in a dict literal (with the
  ``status_code=`` of the JSONResponse it is in) and ``code = {status: "X"}.get(...)`` tables.

Codes built at run time (``HTTP_<status>``) and the stream's own message codes (sent as
``{"type": "error"}`` on the WebSocket, never as an HTTP answer) are not error answers here.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

from gateway.errors import GatewayError
from gateway.trading import retcodes

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.extend([sub, *_subclasses(sub)])
    return out


def _import_all() -> None:
    for module in pkgutil.walk_packages([str(GATEWAY)], prefix="gateway."):
        if module.name.endswith("__main__"):
            continue
        importlib.import_module(module.name)


def _constant(node: ast.AST | None) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def _scan(status_of_class: dict[str, int | None]) -> dict[str, int | None]:
    found: dict[str, int | None] = {}

    def add(code: object, status: object) -> None:
        if isinstance(code, str) and code.isupper():
            known = status if isinstance(status, int) else None
            if found.get(code) is None:
                found[code] = known

    for path in GATEWAY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                words = {k.arg: k.value for k in node.keywords if k.arg}
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                status = _constant(words.get("status")) or _constant(words.get("status_code"))
                if status is None and isinstance(name, str):
                    status = status_of_class.get(name)
                add(_constant(words.get("code")), status)
                for arg in node.args:  # JSONResponse({"code": "X"}, status_code=N)
                    if isinstance(arg, ast.Dict):
                        for key, value in zip(arg.keys, arg.values, strict=True):
                            if _constant(key) == "code":
                                add(_constant(value), status)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "code" for t in node.targets
            ):
                table = getattr(getattr(node.value, "func", None), "value", None)
                if isinstance(node.value, ast.Call) and isinstance(table, ast.Dict):
                    for key, value in zip(table.keys, table.values, strict=True):
                        add(_constant(value), _constant(key))
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if _constant(key) == "code":
                        add(_constant(value), None)
    return found


def gateway_codes() -> dict[str, int | None]:
    """code -> HTTP status (None where the source does not fix one)."""
    _import_all()
    codes: dict[str, int | None] = {}
    classes = [GatewayError, *_subclasses(GatewayError)]
    by_name: dict[str, int | None] = {}
    for cls in classes:
        codes[cls.code] = cls.status
        same = by_name.get(cls.__name__, cls.status) == cls.status  # a name two classes share: None
        by_name[cls.__name__] = cls.status if same else None
    rules = [v for v in vars(retcodes).values() if isinstance(v, retcodes.RetcodeRule)]
    for rule in [*retcodes.RULES, *rules, retcodes.rule_for(987654)]:
        if rule.status >= 400:
            codes[rule.code] = rule.status
    for code, status in _scan(by_name).items():
        if codes.get(code) is None:
            codes[code] = status
    return codes
