"""six stand-in: the one call the references make."""


def iteritems(d, **kw):
    return iter(d.items(**kw))
