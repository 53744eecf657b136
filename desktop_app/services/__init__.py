"""Orchestration over the store and the engine: what the CLI and the UI call."""
