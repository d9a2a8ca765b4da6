from . import tune  # noqa: F401
