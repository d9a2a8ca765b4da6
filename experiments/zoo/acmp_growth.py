"""Why ACMP's eq. 7 explodes on chameleon and Film (issue 39, fifth round): the largest real
part and the spectral radius of the linear part of ACMP's three forms at initialisation
(alpha = sigmoid(0) = 1/2, beta = 0.5, the attention taken uniform, a = D^-1 (A + I), whose
rows sum to 1 as softmax_j's do), on pde2gnn's undirected graph with self loops:

- eq. 7 (library/acmp.pde): alpha sum_j (a_ij - beta)(x_j - x_i) = alpha [(W - I) + beta (D - A)] x,
  the repulsion a backward diffusion: its modes grow like exp(alpha beta lambda(D - A) t);
- the reference code's form (specs/acmp_ref.pde): alpha (W - beta A - I) x;
- the reference script's configuration (specs/acmp_grand.pde, beta = 0): alpha (W - I) x.

Usage: PYTHONPATH=. PDE2GNN_DATA=... python experiments/zoo/acmp_growth.py texas chameleon film
"""
import sys

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from pde2gnn.data.datasets import load_dataset

ALPHA, BETA = 0.5, 0.5


def adjacency(name: str) -> sp.csr_matrix:
    """A + I: the data set's graph made undirected, one self loop per node."""
    d = load_dataset(name)
    ei, n = d.edge_index.numpy(), d.num_nodes
    a = sp.coo_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(n, n)).tocsr()
    a = ((a + a.T) > 0).astype(float)
    a.setdiag(0)
    a.eliminate_zeros()
    return (a + sp.eye(n)).tocsr()


def extremes(m: sp.spmatrix):
    """(largest real part, spectral radius) of ``m`` (ARPACK)."""
    m = m.tocsc()
    re = sla.eigs(m, 1, which="LR", return_eigenvectors=False)[0].real + 0.0
    re = 0.0 if abs(re) < 1e-9 else re
    rho = abs(sla.eigs(m, 1, which="LM", return_eigenvectors=False)[0])
    return re, rho


def main(names):
    print("| data set | nodes | max degree | lambda_max(D - A) | eq. 7: max Re / rho | "
          "reference form: max Re / rho | reference script: max Re / rho |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        a = adjacency(name)
        n = a.shape[0]
        deg = np.asarray(a.sum(1)).ravel()
        lap = sp.diags(deg) - a
        w, i = sp.diags(1 / deg) @ a, sp.eye(n)
        forms = (ALPHA * ((w - i) + BETA * lap), ALPHA * (w - BETA * a - i), ALPHA * (w - i))
        cells = ["%.1f / %.1f" % extremes(m) for m in forms]
        lmax = sla.eigsh(lap, 1, which="LA", return_eigenvectors=False)[0]
        print(f"| {name} | {n} | {deg.max() - 1:.0f} | {lmax:.1f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["texas", "chameleon", "film"])
