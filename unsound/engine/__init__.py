"""Workspace discovery, source files, parsing, matching and scanning."""
