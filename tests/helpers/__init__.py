"""Shared test helpers (random graphs, fuzzing)."""
