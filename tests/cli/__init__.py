"""Tests of pde2gnn.cli."""
