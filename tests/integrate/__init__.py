"""Tests of pde2gnn.integrate."""
