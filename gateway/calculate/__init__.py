"""Calculators: position size for a risk, margin, profit and swap, from the symbol's own figures."""
