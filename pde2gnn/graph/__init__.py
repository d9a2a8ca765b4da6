"""Graph construction (k-NN, radius, Delaunay, feature k-NN rewiring), positional encodings, and
partitioned solves over torch.distributed ranks (``partition``, ``halo``, ``partitioned``). May
import the compiler and the shared vocabulary; never data, models, train, simulate, discover or
cli.
"""
