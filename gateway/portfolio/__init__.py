"""What an account holds now: its figures (info, balance, equity), open positions, pending
orders, and the one-call snapshot of all three."""
