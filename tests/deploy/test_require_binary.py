"""require_binary: skip when a system binary is missing, fail instead under CI's
MT5GW_REQUIRE_BINARIES=1."""

from __future__ import annotations

import pytest
from deploy_support import require_binary

MISSING = "mt5gw-no-such-binary"


def test_found_binary_is_returned() -> None:
    assert require_binary("sh").endswith("/sh")


def test_missing_binary_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MT5GW_REQUIRE_BINARIES", raising=False)
    with pytest.raises(pytest.skip.Exception, match=MISSING):
        require_binary(MISSING)


def test_missing_binary_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MT5GW_REQUIRE_BINARIES", "1")
    with pytest.raises(pytest.fail.Exception, match="MT5GW_REQUIRE_BINARIES=1"):
        require_binary(MISSING)
