"""The command line: the argparse parser (no torch import) and the commands. May import every other
layer.
"""
