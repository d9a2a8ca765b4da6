"""Tests of pde2gnn.graph."""
