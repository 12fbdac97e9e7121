"""The rule language: grammar, AST, checks and the compiler from rules to matchers."""
