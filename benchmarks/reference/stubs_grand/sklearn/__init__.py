"""sklearn stand-in: only the kNN rewiring and feature normalisation paths (unused) import it."""
