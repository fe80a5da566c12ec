"""AccountCache: entries expire, stay bounded and are forgotten per user."""

from __future__ import annotations

from gateway.accounts.cache import AccountCache


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_expiry_bound_and_forgetting() -> None:
    clock = Clock()
    cache: AccountCache[str] = AccountCache(ttl_s=30, max_entries=3, clock=clock)
    cache.put("u1", None, "a")
    cache.put("u1", "x", "b")
    cache.put("u2", None, "c")
    assert (cache.get("u1", None), cache.get("u1", "x"), cache.get("u2", None)) == ("a", "b", "c")
    cache.forget(["u1"])
    assert cache.get("u1", None) is None and cache.get("u1", "x") is None
    assert cache.get("u2", None) == "c"
    for i in range(4):
        cache.put("u3", str(i), str(i))
    assert cache.get("u2", None) is None  # the oldest entry made room
    clock.now += 31
    assert cache.get("u3", "3") is None  # expired
