"""Formatters: each sees only `Finding` and `Report`, never the engine."""
