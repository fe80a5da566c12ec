"""Sending orders to MT5 (write side): market and pending orders, SL/TP changes, modify,
cancel, close; idempotency, reconciliation and the audit trail around each send."""
