"""The spec's ``graph knn(...)`` clause as the compiler reads it (pde2gnn.compiler.graph_clause)."""
from pathlib import Path

from pde2gnn.compiler.graph_clause import DEFAULT_K, KnnClause, knn_clause
from pde2gnn.compiler.pipeline import front

LIBRARY = Path(__file__).resolve().parents[2] / "library"


def test_library_knn_spec():
    assert knn_clause(front(str(LIBRARY / "beltrami_knn.pde"))) == KnnClause("u", 16)


def test_no_clause_means_the_input_graph():
    assert knn_clause(front(str(LIBRARY / "beltrami.pde"))) is None


def test_k_given_and_defaulted():
    base = (LIBRARY / "beltrami_knn.pde").read_text()
    assert "graph knn(u, k=16)" in base
    assert knn_clause(front(base.replace("graph knn(u, k=16)", "graph knn(u, k=5)"))).k == 5
    assert knn_clause(front(base.replace("graph knn(u, k=16)", "graph knn(u)"))).k == DEFAULT_K
