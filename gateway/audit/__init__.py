"""The audit log API: who did what on which account, and what MT5 answered."""
