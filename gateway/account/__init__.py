"""Account figures: info, balance, equity and the one-call snapshot."""
