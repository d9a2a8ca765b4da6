"""Integration paths beside :mod:`pde2gnn.rk`: :mod:`.compiled` (``torch.compile`` of whole steps)."""
