"""Use cases: each function owns the transaction of what it does."""
