"""Implicit and IMEX (additive) Runge-Kutta methods held as data, beside the explicit
tableaus of :mod:`pde2gnn.integrate.tableaus`. No torch.

An additive Runge-Kutta method (Kennedy & Carpenter 2003, eq. (3)) for y' = L y + N(t, y)
has two tableaus on the same nodes c: A_E strictly lower triangular for N (explicit) and
A_I lower triangular for L (diagonally implicit). Stage i solves

    (I - h a^I_ii L) Y_i = y0 + h sum_{j<i} (a^E_ij N_j + a^I_ij L Y_j),

and y1 = y0 + h sum_j (b^E_j N_j + b^I_j L Y_j); an embedded pair (b_hat) gives the error
estimate. A purely implicit method has A_E = A_I (``fully_implicit``): N is taken implicitly
too (Newton-Krylov), or, for an affine field, is a constant.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from math import sqrt
from typing import Optional, Tuple

Matrix = Tuple[Tuple[float, ...], ...]


@dataclass(frozen=True)
class ARKTableau:
    """An additive (IMEX) or diagonally implicit Runge-Kutta method.

    Attributes:
        name: the method's name in pde2gnn (``SolverConfig.method``).
        order: the order of the solution; the step-size controller uses it.
        c: the S nodes (stage times t0 + c_i h).
        ae: explicit matrix ``S x S`` (strictly lower triangular; N's weights).
        ai: implicit matrix ``S x S`` (lower triangular; L's weights).
        be, bi: solution weights for N and L, length S.
        ee, ei: error weights b - b_hat for N and L (None: a fixed-step method).
        fully_implicit: N is implicit too (``ae`` = ``ai``).
        l_stable: L-stable (R(inf) = 0 for the implicit part); else only A-stable.
        source: the paper the coefficients come from.
        linearised: the implicit part is the whole Jacobian J(y_n) of f, frozen over a step
            (and reused across steps), the explicit part f - J(y_n) y
            (:mod:`pde2gnn.integrate.linearised`); otherwise the compiler's split.
    """

    name: str
    order: int
    c: Tuple[float, ...]
    ae: Matrix
    ai: Matrix
    be: Tuple[float, ...]
    bi: Tuple[float, ...]
    ee: Optional[Tuple[float, ...]] = None
    ei: Optional[Tuple[float, ...]] = None
    fully_implicit: bool = False
    l_stable: bool = True
    source: str = ""
    linearised: bool = False

    @property
    def stages(self) -> int:
        return len(self.c)

    @property
    def adaptive(self) -> bool:
        return self.ei is not None

    @property
    def explicit_first(self) -> bool:
        """The first stage is y0 itself (a_11 = 0: ESDIRK / ARS): f(y0) is the last step's
        f(y1)."""
        return self.ai[0][0] == 0.0


def _square(rows, s):
    """Lower-triangular rows (row i has i + 1 entries, or i for a strictly lower matrix) ->
    a full ``s x s`` tuple of tuples."""
    return tuple(tuple(list(r) + [0.0] * (s - len(r))) for r in rows)


def _implicit_only(name, order, c, ai, b, bhat=None, l_stable=True, source=""):
    s = len(c)
    ai = _square(ai, s)
    e = None if bhat is None else tuple(x - y for x, y in zip(b, bhat))
    return ARKTableau(name, order, tuple(c), ai, ai, tuple(b), tuple(b), e, e,
                      fully_implicit=True, l_stable=l_stable, source=source)


def _imex(name, order, c, ae, ai, be, bi, bhat_e=None, bhat_i=None, source=""):
    s = len(c)
    ee = None if bhat_e is None else tuple(x - y for x, y in zip(be, bhat_e))
    ei = None if bhat_i is None else tuple(x - y for x, y in zip(bi, bhat_i))
    return ARKTableau(name, order, tuple(c), _square(ae, s), _square(ai, s), tuple(be),
                      tuple(bi), ee, ei, source=source)


# Kennedy & Carpenter, "Additive Runge-Kutta schemes for convection-diffusion-reaction
# equations", Appl. Numer. Math. 44 (2003) 139-181: ARK3(2)4L[2]SA, Tables 1-2 (as in PETSc's
# TSARKIMEX3 and SUNDIALS' ARK324L2SA); its implicit part is ESDIRK3(2)4L[2]SA.
_G3 = 1767732205903 / 4055673282236
_ARK3_C = (0.0, 1767732205903 / 2027836641118, 3 / 5, 1.0)
_ARK3_AE = ((), (1767732205903 / 2027836641118,),
            (5535828885825 / 10492691773637, 788022342437 / 10882634858940),
            (6485989280629 / 16251701735622, -4246266847089 / 9704473918619,
             10755448449292 / 10357097424841))
_ARK3_AI = ((0.0,), (_G3, _G3),
            (2746238789719 / 10658868560708, -640167445237 / 6845629431997, _G3),
            (1471266399579 / 7840856788654, -4482444167858 / 7529755066697,
             11266239266428 / 11593286722821, _G3))
_ARK3_B = _ARK3_AI[3]
_ARK3_BHAT = (2756255671327 / 12835298489170, -10771552573575 / 22201958757719,
              9247589265047 / 10645013368117, 2193209047091 / 5459859503100)

# ARK4(3)6L[2]SA, same paper, Tables 5-6; implicit part ESDIRK4(3)6L[2]SA.
_ARK4_C = (0.0, 0.5, 83 / 250, 31 / 50, 17 / 20, 1.0)
_ARK4_AE = ((), (0.5,), (13861 / 62500, 6889 / 62500),
            (-116923316275 / 2393684061468, -2731218467317 / 15368042101831,
             9408046702089 / 11113171139209),
            (-451086348788 / 2902428689909, -2682348792572 / 7519795681897,
             12662868775082 / 11960479115383, 3355817975965 / 11060851509271),
            (647845179188 / 3216320057751, 73281519250 / 8382639484533,
             552539513391 / 3454668386233, 3354512671639 / 8306763924573, 4040 / 17871))
_ARK4_AI = ((0.0,), (0.25, 0.25), (8611 / 62500, -1743 / 31250, 0.25),
            (5012029 / 34652500, -654441 / 2922500, 174375 / 388108, 0.25),
            (15267082809 / 155376265600, -71443401 / 120774400, 730878875 / 902184768,
             2285395 / 8070912, 0.25),
            (82889 / 524892, 0.0, 15625 / 83664, 69875 / 102672, -2260 / 8211, 0.25))
_ARK4_B = _ARK4_AI[5]
_ARK4_BHAT = (4586570599 / 29645900160, 0.0, 178811875 / 945068544, 814220225 / 1159782912,
              -3700637 / 11593932, 61727 / 225920)

# Ascher, Ruuth & Spiteri, "Implicit-explicit Runge-Kutta methods for time-dependent partial
# differential equations", Appl. Numer. Math. 25 (1997) 151-167: (2,3,2), sec. 2.5, and
# (4,4,3), sec. 2.8 (stage 1 is the explicit first column of zeros).
_GA = (2 - sqrt(2)) / 2
_DE = 1 - 1 / (2 * _GA)

#: The implicit and IMEX methods, by name.
IMEX_TABLEAUS = {t.name: t for t in (
    _implicit_only("backward_euler", 1, (1.0,), ((1.0,),), (1.0,),
                   source="backward (implicit) Euler; L-stable, first order"),
    _implicit_only("trapezoid", 2, (0.0, 1.0), ((0.0,), (0.5, 0.5)), (0.5, 0.5),
                   l_stable=False,
                   source="trapezoid rule / Crank & Nicolson, Proc. Camb. Phil. Soc. 43 (1947) "
                          "50-67; A-stable, not L-stable"),
    _implicit_only("esdirk3", 3, _ARK3_C, _ARK3_AI, _ARK3_B, _ARK3_BHAT,
                   source="Kennedy & Carpenter 2003, ESDIRK3(2)4L[2]SA"),
    _implicit_only("esdirk4", 4, _ARK4_C, _ARK4_AI, _ARK4_B, _ARK4_BHAT,
                   source="Kennedy & Carpenter 2003, ESDIRK4(3)6L[2]SA"),
    _imex("ars232", 2, (0.0, _GA, 1.0), ((), (_GA,), (_DE, 1 - _DE)),
          ((0.0,), (0.0, _GA), (0.0, 1 - _GA, _GA)), (0.0, 1 - _GA, _GA), (0.0, 1 - _GA, _GA),
          source="Ascher, Ruuth & Spiteri 1997, ARS(2,3,2)"),
    _imex("ars443", 3, (0.0, 0.5, 2 / 3, 0.5, 1.0),
          ((), (0.5,), (11 / 18, 1 / 18), (5 / 6, -5 / 6, 0.5), (0.25, 7 / 4, 0.75, -7 / 4)),
          ((0.0,), (0.0, 0.5), (0.0, 1 / 6, 0.5), (0.0, -0.5, 0.5, 0.5),
           (0.0, 1.5, -1.5, 0.5, 0.5)),
          (0.25, 7 / 4, 0.75, -7 / 4, 0.0), (0.0, 1.5, -1.5, 0.5, 0.5),
          source="Ascher, Ruuth & Spiteri 1997, ARS(4,4,3)"),
    _imex("ark3", 3, _ARK3_C, _ARK3_AE, _ARK3_AI, _ARK3_B, _ARK3_B, _ARK3_BHAT, _ARK3_BHAT,
          source="Kennedy & Carpenter 2003, ARK3(2)4L[2]SA"),
    _imex("ark4", 4, _ARK4_C, _ARK4_AE, _ARK4_AI, _ARK4_B, _ARK4_B, _ARK4_BHAT, _ARK4_BHAT,
          source="Kennedy & Carpenter 2003, ARK4(3)6L[2]SA"),
)}
# The same ARK pairs on the Jacobian split f = J(y_n) y + (f(y) - J(y_n) y): linearly implicit
# in the whole Jacobian (pde2gnn.integrate.linearised); L-stable in J, order kept for any J.
for _name in ("ark3", "ark4"):
    _t = IMEX_TABLEAUS[_name]
    IMEX_TABLEAUS[_name + "j"] = replace(
        _t, name=_name + "j", linearised=True,
        source=_t.source + ", on the Jacobian split J(y_n) y + (f - J(y_n) y)")
del _name, _t


@dataclass(frozen=True)
class RosenbrockTableau:
    """A Rosenbrock(-W) method (Hairer & Wanner, "Solving ODEs II", sec. IV.7, eq. (7.4)):

        (I - h gamma J) k_i = h f(t0 + alpha_i h, y0 + sum_{j<i} alpha_ij k_j)
                              + h J sum_{j<i} gamma_ij k_j + h^2 gamma_i f_t(t0, y0),
        y1 = y0 + sum_i b_i k_i,  error sum_i (b_i - bhat_i) k_i,

    alpha_i = sum_j alpha_ij, gamma_i = gamma + sum_j gamma_ij. A W-method keeps its order
    with any matrix in place of J, so J (and the factorisation of I - h gamma J) may be reused
    over steps.

    Attributes:
        name, order, source: as :class:`ARKTableau`.
        gamma: the diagonal.
        alpha, gammas: strictly lower triangular ``S x S`` (alpha_ij, gamma_ij).
        b, bhat: solution and embedded weights.
        w_method: a W-method (order kept with a stale J).
        l_stable: R(-inf) = 0.
    """

    name: str
    order: int
    gamma: float
    alpha: Matrix
    gammas: Matrix
    b: Tuple[float, ...]
    bhat: Tuple[float, ...]
    w_method: bool = True
    l_stable: bool = True
    source: str = ""

    @property
    def stages(self) -> int:
        return len(self.b)

    @property
    def c(self) -> Tuple[float, ...]:
        return tuple(sum(r) for r in self.alpha)

    @property
    def d(self) -> Tuple[float, ...]:
        return tuple(self.gamma + sum(r) for r in self.gammas)


# Rang & Angermann, "New Rosenbrock W-methods of order 3 for partial differential algebraic
# equations of index 1", BIT 45 (2005) 761-787: ROS34PW2 (4 stages, order 3, embedded order 2,
# stiffly accurate, L-stable, a W-method), as in PETSc's TSROSWRA34PW2.
_RG = 4.3586652150845900e-01
ROSENBROCK_TABLEAUS = {t.name: t for t in (
    RosenbrockTableau(
        "ros34pw2", 3, _RG,
        _square(((), (8.7173304301691801e-01,),
                 (8.4457060015369423e-01, -1.1299064236397981e-01), (0.0, 0.0, 1.0)), 4),
        _square(((), (-8.7173304301691801e-01,),
                 (-9.0338057013044082e-01, 5.4180672388095326e-02),
                 (2.4212380706095346e-01, -1.2232505839045147e+00, 5.4526025533510214e-01)), 4),
        (2.4212380706095346e-01, -1.2232505839045147e+00, 1.5452602553351023e+00, _RG),
        (3.7810903145819369e-01, -9.6042292212423178e-02, 0.5, 2.1793326075422950e-01),
        source="Rang & Angermann 2005, ROS34PW2"),
)}
