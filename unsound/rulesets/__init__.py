"""The built-in rule packs, shipped as `.rules` files (package data)."""
