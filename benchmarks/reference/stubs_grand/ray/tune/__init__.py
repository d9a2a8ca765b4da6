"""ray stand-in: only the references' hyperparameter searches use it."""


def _no(*a, **k):
    raise ImportError("ray is stubbed (benchmarks/reference/stubs_grand)")


class CLIReporter:
    def __init__(self, *a, **k):
        _no()
