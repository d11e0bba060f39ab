"""Service layer: command handlers that load aggregates, decide and append."""
