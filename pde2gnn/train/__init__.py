"""Training: tasks and their plugins (node classification, forecasting, dynamics, n-body), configs
(TOML defaults), results files, curves, distributed runs and diagnostics. May import every layer
above it (compiler, integrate, graph, data, models, simulate, discover) and the shared vocabulary;
never cli.
"""
