"""Tests of pde2gnn.models."""
