class LazyTensor:
    def __init__(self, *a, **k):
        raise ImportError("pykeops is stubbed")
