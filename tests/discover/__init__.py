"""Tests of pde2gnn.discover."""
