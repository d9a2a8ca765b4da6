"""Tests of pde2gnn.simulate."""
