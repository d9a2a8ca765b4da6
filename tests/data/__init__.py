"""Tests of pde2gnn.data."""
