"""Graph construction (k-NN, radius, Delaunay, feature k-NN rewiring) and positional encodings. May
import the compiler and the shared vocabulary; never data, models, train, simulate, discover or
cli.
"""
