"""Semantic checking: names, kinds (scalar / node / edge), channel shapes and form rules.

Input is a parsed :class:`~pde2gnn.compiler.lang.ast.Spec`; output a :class:`CheckedSpec`, the typed
symbol table the symbolic stage lowers. Every error is a :class:`~pde2gnn.errors.SpecError`
pointing at the offending text.

Kinds: a ``scalar`` has no node or edge axis (numbers, params, learnable scalars and vectors);
a ``node`` value has one row per node, an ``edge`` value one row per edge (i, j); a ``matrix`` is
a learnable ``[rows, cols]`` tensor, usable only on the right of ``@``. Channels are an integer
or a symbolic dimension name bound at compile time; channel count 1 broadcasts.

Modules: :mod:`.types` (kinds, channel arithmetic, the checked spec, limits), one module per
rule set (:mod:`.declarations`, :mod:`.domain`, :mod:`.networks`, :mod:`.energies`,
:mod:`.expressions`, :mod:`.sheaf`) and :mod:`.checker`, which holds the state and the form rules of a whole
spec and runs the others.
"""
from pde2gnn.compiler.check.checker import check  # noqa: F401
from pde2gnn.compiler.types import (BUILTINS, LIMITS, SCHEMES, SHEAF_OPS, Channels, CheckedSpec,  # noqa: F401
                    NetInfo, Type, channel_expr, endpoint, norm_channels, resolve_channels,
                    stalk_channels)
