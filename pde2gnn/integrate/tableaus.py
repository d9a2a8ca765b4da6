"""Explicit Runge-Kutta methods as data (Butcher tableaus), and their Krylov form for affine
fields. No torch: :func:`pde2gnn.compiler.explain` prints a generated step without importing it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

@dataclass(frozen=True)
class Tableau:
    """A Butcher tableau held as data.

    Attributes:
        name: the method's name (torchdiffeq's, where torchdiffeq has it).
        order: the order the step-size controller uses (torchdiffeq's ``order``).
        c: nodes of stages 2..S (stage 1 is at c = 0), length S - 1.
        a: rows of the Runge-Kutta matrix for stages 2..S; row s holds the s weights of
            stages 1..s.
        b: solution weights, length S.
        e: error weights b - b_hat (embedded pair), length S; None for fixed-step methods.
        mid: weights of y(t0 + dt/2) for dense output, length S; None: cubic Hermite.
        reuse_last: the next step starts from the last stage's derivative although y1 is not
            its state (torchdiffeq's ``adaptive_heun``: its step hands ``k[..., -1]``, f at the
            Euler predictor, on as f1), so that both take the same steps; such a tableau has no
            affine (Krylov) step, which keeps no stage.
    """

    name: str
    order: int
    c: Tuple[float, ...]
    a: Tuple[Tuple[float, ...], ...]
    b: Tuple[float, ...]
    e: Optional[Tuple[float, ...]] = None
    mid: Optional[Tuple[float, ...]] = None
    reuse_last: bool = False

    @property
    def stages(self) -> int:
        return len(self.b)

    @property
    def adaptive(self) -> bool:
        return self.e is not None

    @property
    def carries_last(self) -> bool:
        """The next step's f0 is this step's last stage derivative (FSAL or ``reuse_last``)."""
        return self.fsal or self.reuse_last

    @property
    def fsal(self) -> bool:
        """First same as last: the last stage is evaluated at y1 (c = 1, last row of a = b)."""
        return bool(self.c) and self.c[-1] == 1.0 and tuple(self.a[-1]) + (0.0,) == self.b


def _tsit5() -> Tableau:
    # Tsitouras, "Runge-Kutta pairs of order 5(4) satisfying only the first column simplifying
    # assumption", Comput. Math. Appl. 62 (2011) 770-775, Table 1.
    b = (0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742,
         -3.290069515436081, 2.324710524099774)
    return Tableau(
        "tsit5", 5, c=(0.161, 0.327, 0.9, 0.9800255409045097, 1.0, 1.0),
        a=((0.161,),
           (-0.008480655492356989, 0.335480655492357),
           (2.8971530571054935, -6.359448489975075, 4.3622954328695815),
           (5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525),
           (5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401,
            -0.028269050394068383),
           b),
        b=b + (0.0,),
        e=(-0.00178001105222577714, -0.0008164344596567469, 0.007880878010261995,
           -0.1447110071732629, 0.5823571654525552, -0.45808210592918697, 1.0 / 66.0))


_DOPRI5_B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)

#: The explicit methods of the fast integrator, by name. ``rk4`` is the 3/8 rule, as
#: torchdiffeq's ``rk4`` (``rk4_alt_step_func``).
TABLEAUS = {t.name: t for t in (
    Tableau("euler", 1, c=(), a=(), b=(1.0,)),
    Tableau("midpoint", 2, c=(0.5,), a=((0.5,),), b=(0.0, 1.0)),
    Tableau("heun2", 2, c=(1.0,), a=((1.0,),), b=(0.5, 0.5)),
    Tableau("heun3", 3, c=(1 / 3, 2 / 3), a=((1 / 3,), (0.0, 2 / 3)), b=(0.25, 0.0, 0.75)),
    Tableau("rk4", 4, c=(1 / 3, 2 / 3, 1.0), a=((1 / 3,), (-1 / 3, 1.0), (1.0, -1.0, 1.0)),
            b=(0.125, 0.375, 0.375, 0.125)),
    # Heun's method with Euler as its embedded first-order estimate (torchdiffeq's)
    Tableau("adaptive_heun", 2, c=(1.0,), a=((1.0,),), b=(0.5, 0.5), e=(0.5, -0.5),
            mid=(0.5, 0.0), reuse_last=True),
    # Bogacki & Shampine, Appl. Math. Lett. 2 (1989) 321-325
    Tableau("bosh3", 3, c=(0.5, 0.75, 1.0), a=((0.5,), (0.0, 0.75), (2 / 9, 1 / 3, 4 / 9)),
            b=(2 / 9, 1 / 3, 4 / 9, 0.0),
            e=(2 / 9 - 7 / 24, 1 / 3 - 1 / 4, 4 / 9 - 1 / 3, -1 / 8),
            mid=(0.0, 0.5, 0.0, 0.0)),
    # Dormand & Prince, J. Comput. Appl. Math. 6 (1980) 19-26; dense output of Shampine (1986)
    Tableau("dopri5", 5, c=(1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0),
            a=((1 / 5,), (3 / 40, 9 / 40), (44 / 45, -56 / 15, 32 / 9),
               (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
               (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656), _DOPRI5_B),
            b=_DOPRI5_B + (0.0,),
            e=(35 / 384 - 1951 / 21600, 0.0, 500 / 1113 - 22642 / 50085,
               125 / 192 - 451 / 720, -2187 / 6784 + 12231 / 42400, 11 / 84 - 649 / 6300,
               -1 / 60),
            mid=(6025192743 / 30085553152 / 2, 0.0, 51252292925 / 65400821598 / 2,
                 -2691868925 / 45128329728 / 2, 187940372067 / 1594534317056 / 2,
                 -1776094331 / 19743644256 / 2, 11237099 / 235043384 / 2)),
    _tsit5(),
)}


# ----------------------------------------------------------------- affine fields (Krylov form)
# For an affine, autonomous field f(y) = L y + c the stages of any explicit method are
# polynomials in h L applied to f0 = f(y0): k = 1 f0 + h L (A k) gives
# k_s = sum_m (A^m 1)_s h^m L^m f0 (A strictly lower triangular, so m < S). A combination
# sum_s w_s k_s is then sum_m (w^T A^m 1) h^m v_m with the Krylov vectors v_m = L^m f0: a step
# needs the same number of products with L as the stage form needs evaluations, but one sum
# instead of one per stage (and a backward pass to match). For a first-same-as-last tableau the
# last stage is f(y1) itself, the next step's f0; it stays a vector of its own.


@lru_cache(maxsize=None)
def _krylov_rows(tab: Tableau) -> Tuple[Tuple[float, ...], ...]:
    """``K[m][s] = (A^m 1)_s`` for m = 0..S-1 (A: the full S x S Runge-Kutta matrix)."""
    S = tab.stages
    A = [[0.0] * S for _ in range(S)]
    for r, row in enumerate(tab.a):
        A[r + 1][:len(row)] = row
    rows, p = [], [1.0] * S
    for _ in range(S):
        rows.append(tuple(p))
        p = [sum(A[i][j] * p[j] for j in range(S)) for i in range(S)]
    return tuple(rows)


def krylov_vectors(tab: Tableau) -> int:
    """How many vectors an affine step of ``tab`` returns: the Krylov vectors
    ``v_0 = f0, ..., v_{n-1}`` (n = S - 1 for a first-same-as-last tableau, whose last vector
    is then f(y1), else S)."""
    return tab.stages - 1 if tab.fsal else tab.stages


def krylov_weights(tab: Tableau, w: Sequence[float], dt: float) -> List[float]:
    """The weights on an affine step's vectors of ``dt * sum_s w[s] k_s`` (``w``: one weight
    per stage, e.g. ``tab.b``, ``tab.e`` or dense-output weights): ``dt^(m+1) w^T A^m 1`` on
    ``v_m``, and ``dt * w[S-1]`` on f(y1) for a first-same-as-last tableau."""
    rows = _krylov_rows(tab)
    n = tab.stages - 1 if tab.fsal else tab.stages
    out = [dt ** (m + 1) * sum(w[s] * rows[m][s] for s in range(n)) for m in range(n)]
    return out + [dt * w[-1]] if tab.fsal else out


def affine_step_source(tab: Tableau) -> str:
    """Python source of one ``tab`` step of an affine field, ``affine_step(t, h, y0, f0, *args)``
    -> ``(y1, vectors)``: ``linear(v, *args)`` is L v and ``step(t, y, *args)`` the field, both
    from the same generated module; ``vectors`` are the Krylov vectors (and f(y1) last, for a
    first-same-as-last tableau), combined with :func:`krylov_weights`."""
    n = krylov_vectors(tab)
    rows = _krylov_rows(tab)
    coef = [sum(tab.b[s] * rows[m][s] for s in range(n)) for m in range(n)]
    args = "_G, _I, _L, _S, _C"
    lines = [f"def affine_step(t, h, y0, f0, {args}):",
             f'    """One {tab.name} step of f(t, y) = L y + c (L = linear): y1 = y0 + '
             'sum_m (b^T A^m 1) h^(m+1) L^m f0."""',
             "    _v0 = f0"]
    lines += [f"    _v{m} = linear(_v{m - 1}, {args})" for m in range(1, n)]
    terms = [(f"{c!r} * h ** {m + 1}" if m else f"{c!r} * h", f"_v{m}")
             for m, c in enumerate(coef) if c != 0.0]
    lines.append(f"    _y1 = stage_sum(y0, ({', '.join(w for w, _ in terms)},), "
                 f"({', '.join(v for _, v in terms)},))")
    vecs = [f"_v{m}" for m in range(n)]
    if tab.fsal:
        lines.append(f"    _f1 = step(t + h, _y1, {args})")
        vecs.append("_f1")
    lines.append(f"    return _y1, ({', '.join(vecs)},)")
    return "\n".join(lines) + "\n"
