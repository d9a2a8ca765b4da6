"""Tests of pde2gnn.compiler."""
