"""Open positions, pending orders and trade history (read side)."""
