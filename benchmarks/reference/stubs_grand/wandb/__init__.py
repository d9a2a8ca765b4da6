"""Offline stand-in for wandb (the NSD reference logs to it): init keeps the config, log prints
nothing, finish does nothing."""
config = None


def init(project=None, config=None, entity=None, **kw):
    globals()["config"] = dict(config or {})


def log(*a, **k):
    pass


def finish(*a, **k):
    pass
