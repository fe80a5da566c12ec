"""The account's history: deals and finished orders."""
