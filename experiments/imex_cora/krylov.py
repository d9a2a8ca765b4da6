"""Krylov iterations for GREAD's stage matrix on Cora (issue 35): products with L to solve
(I - g L) x = b, g = 0.436 h (ARK3's diagonal), b = y(0), to 1e-6 relative, for GMRES(40)
with and without the Jacobi preconditioner, GMRES(100) and scipy's BiCGStab, float32 and
float64, library ``gread`` with its initial weights, hidden 16, a seeded encoder.

    PDE2GNN_DATA=... OMP_NUM_THREADS=1 python experiments/imex_cora/krylov.py
"""
import os, sys, time, math, torch, numpy as np
from torch_geometric.datasets import Planetoid
from scipy.sparse.linalg import LinearOperator, bicgstab, gmres as sp_gmres
from pde2gnn.compiler import pipeline as compiler
from pde2gnn.integrate import linsolve as LS
data = Planetoid(os.environ["PDE2GNN_DATA"] + "/Planetoid", "Cora")[0]
torch.set_num_threads(1)
for dtype in (torch.float32, torch.float64):
    field = compiler.compile("gread", data.edge_index, data.num_nodes, dims={"d": 16}).to(dtype)
    g = torch.Generator().manual_seed(0)
    W = torch.randn(data.num_features, 16, generator=g, dtype=dtype) * 0.1
    y0 = data.x.to(dtype) @ W
    with torch.no_grad():
        field.prepare(y0)
        op = field.split_operator()
        b = y0.clone()
        d = op.diag().reshape(b.shape).to(dtype)
        for h in (10.0, 100.0, 243.0):
            gg = 0.4358665215 * h
            apply = lambda v: v - gg * op.apply(v)
            inv = 1.0 / (1.0 - gg * d)
            tol = 1e-6 * float(b.norm()) + 1e-7 * math.sqrt(b.numel())
            row = [f"{str(dtype)[6:]} h {h:g}:"]
            for name, restart, pre in (("gmres40+jacobi", 40, inv), ("gmres40", 40, None),
                                       ("gmres100+jacobi", 100, inv)):
                t0 = time.perf_counter()
                x, its, res, ok = LS.gmres(apply, b, b.clone(), pre, tol, 2000, restart=restart)
                row.append(f"{name} {its}{'' if ok else '(fail ' + format(res / float(b.norm()), '.1e') + ')'} {time.perf_counter() - t0:.1f}s")
            # BiCGStab (van der Vorst 1992), scipy's, Jacobi-preconditioned, on the same products
            n = b.numel(); cnt = [0]
            def mv(v):
                cnt[0] += 1
                return apply(torch.as_tensor(v, dtype=dtype).reshape(b.shape)).reshape(-1).double().numpy()
            A = LinearOperator((n, n), matvec=mv, dtype=np.float64)
            M = LinearOperator((n, n), matvec=lambda v: v * inv.reshape(-1).double().numpy(), dtype=np.float64)
            t0 = time.perf_counter()
            x, info = bicgstab(A, b.reshape(-1).double().numpy(), x0=b.reshape(-1).double().numpy(), rtol=0, atol=tol, maxiter=2000, M=M)
            row.append(f"bicgstab+jacobi {cnt[0]} products{'' if info == 0 else ' (fail)'} {time.perf_counter() - t0:.1f}s")
            print("  ".join(row), flush=True)
