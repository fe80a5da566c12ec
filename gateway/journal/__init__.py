"""The trade journal: closed round-trip trades and balance operations pulled from MT5's deal
history into the store, and the statistics computed from them."""
