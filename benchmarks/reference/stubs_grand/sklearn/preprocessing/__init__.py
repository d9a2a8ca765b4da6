def normalize(*a, **k):
    raise ImportError("sklearn is stubbed")
