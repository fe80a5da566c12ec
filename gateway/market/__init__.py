"""Symbols, quotes, bars, ticks and the broker's clock."""
