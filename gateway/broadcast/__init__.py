"""Broadcast (copy) orders: one order placed on many users' accounts by an admin, each through
the normal trading desk (its own idempotency key, risk limits, investor refusal, audit)."""
