"""What a spec's ``graph`` clause means (``graph knn(u, k=16)``: BLEND-kNN, Chamberlain et al.
2021, section 3.3): read from the checked spec here, in the compiler, so that the layers that build
graphs (pde2gnn.graph) and train models (pde2gnn.train) do not interpret spec syntax."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from pde2gnn.compiler.types import CheckedSpec

#: k of ``graph knn(u)`` without ``k=``
DEFAULT_K = 16


@dataclass(frozen=True)
class KnnClause:
    """``graph knn(field, k=K)``: the diffusion graph is the k-nearest-neighbour graph of the
    values of ``field`` (one row per node), rebuilt by the task that owns the coordinates.

    Attributes:
        field: name of the field whose values are the coordinates (``u``), or None when the
            clause names none.
        k: neighbours per node (>= 1).
    """

    field: Optional[str]
    k: int


def knn_clause(checked: CheckedSpec) -> Optional[KnnClause]:
    """The spec's ``graph knn(...)`` clause, or None when it has none (the input graph is used).
    The checker has already refused unknown graph constructions and a second clause."""
    g = checked.graph
    if g is None or g.method != "knn":
        return None
    kw = dict(g.kwargs)
    field = getattr(g.args[0], "id", None) if g.args else None
    return KnnClause(field, int(getattr(kw.get("k"), "value", DEFAULT_K)))
