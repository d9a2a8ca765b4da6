"""Tests of pde2gnn.train."""
