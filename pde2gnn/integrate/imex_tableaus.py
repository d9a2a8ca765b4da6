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
from functools import cached_property
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
        """gamma_i = gamma + sum_j gamma_ij (the weight of h^2 f_t); zero below 1e-12."""
        return tuple(0.0 if abs(v) < 1e-12 else v
                     for v in (self.gamma + sum(r) for r in self.gammas))

    @cached_property
    def transformed(self) -> Tuple[Matrix, Matrix, Tuple[float, ...], Tuple[float, ...]]:
        """(a, C, m, e) of the form without products with J (Hairer & Wanner II, eq.
        (7.25'); u = Gamma k, Gamma = (gamma_ij) with gamma on the diagonal):

            (I - h gamma J) u_i = h gamma f(y0 + sum_j a_ij u_j) + gamma sum_j C_ij u_j
                                  + h^2 gamma gamma_i f_t,
            y1 = y0 + sum_i m_i u_i,  error sum_i e_i u_i,

        a = alpha Gamma^-1, C = I / gamma - Gamma^-1 (strictly lower), m = b Gamma^-1,
        e = (b - bhat) Gamma^-1."""
        s, g = self.stages, self.gamma
        inv = [[0.0] * s for _ in range(s)]          # Gamma^-1 by forward substitution
        for j in range(s):
            for i in range(j, s):
                acc = (1.0 if i == j else 0.0) - sum(self.gammas[i][k] * inv[k][j]
                                                     for k in range(j, i))
                inv[i][j] = acc / g

        def times_inv(row):
            return tuple(sum(row[k] * inv[k][j] for k in range(s)) for j in range(s))
        a = tuple(times_inv(r) for r in self.alpha)
        c = tuple(tuple(-inv[i][j] if j < i else 0.0 for j in range(s)) for i in range(s))
        e = times_inv([b - bh for b, bh in zip(self.b, self.bhat)])
        return a, c, times_inv(self.b), e


# Rang & Angermann, "New Rosenbrock W-methods of order 3 for partial differential algebraic
# equations of index 1", BIT 45 (2005) 761-787: ROS34PW2 (4 stages, order 3, embedded order 2,
# stiffly accurate, L-stable, a W-method), as in PETSc's TSROSWRA34PW2.
_RG = 4.3586652150845900e-01


def _rodas(name: str, order: int, gamma: float, a_rows, c_rows, source: str
           ) -> RosenbrockTableau:
    """A stiffly accurate Rodas-type method from its published transformed coefficients
    (Hairer & Wanner II, sec. IV.7, eq. (7.25'); ``rodas.f``): stage i solves
    (I / (h gamma) - J) u_i = f(y0 + sum_j a_ij u_j) + sum_j c_ij u_j / h + ..., u = Gamma k.
    The stages after the published rows of a add the last u to the previous argument
    (a_{i,j} = a_{i-1,j}, a_{i,i-1} = 1), the last argument is y1_hat, and y1 = y1_hat + u_s:
    m = (a_{s,.}, 1), m_hat = (a_{s,.}, 0).
    Back to the k form of :class:`RosenbrockTableau`: Gamma = (I / gamma - C)^-1 (lower
    triangular, by forward substitution), alpha = A Gamma, b = m Gamma, bhat = m_hat Gamma.

    Args:
        a_rows: the published rows 2, 3, ... of the transformed a (row i has i - 1 entries).
        c_rows: rows 2 .. s of the transformed C (row i has i - 1 entries)."""
    s = len(c_rows) + 1
    a = [[0.0] * s for _ in range(s)]
    for i, r in enumerate(a_rows, start=1):
        a[i][:len(r)] = list(r)
    for i in range(len(a_rows) + 1, s):             # y0 + ... + u_{i-1}: the last rows
        a[i] = a[i - 1][:i - 1] + [1.0] + [0.0] * (s - i)
    inv = [[(1.0 / gamma if i == j else 0.0) for j in range(s)] for i in range(s)]
    for i, r in enumerate(c_rows, start=1):
        for j, v in enumerate(r):
            inv[i][j] = -v
    G = [[0.0] * s for _ in range(s)]                 # Gamma = inv^-1, column by column
    for j in range(s):
        for i in range(j, s):
            rhs = (1.0 if i == j else 0.0) - sum(inv[i][k] * G[k][j] for k in range(j, i))
            G[i][j] = rhs / inv[i][i]

    def times_g(row):
        return [sum(row[k] * G[k][j] for k in range(s)) for j in range(s)]
    alpha = tuple(tuple(times_g(r)[:i] + [0.0] * (s - i)) for i, r in enumerate(a))
    gammas = tuple(tuple(G[i][j] if j < i else 0.0 for j in range(s)) for i in range(s))
    m = a[s - 1][:s - 1] + [1.0]
    mhat = a[s - 1][:s - 1] + [0.0]
    return RosenbrockTableau(name, order, gamma, alpha, gammas, tuple(times_g(m)),
                             tuple(times_g(mhat)), w_method=False, source=source)


# Hairer & Wanner, "Solving ODEs II", 2nd ed., sec. VI.4, Table 4.3 (``rodas.f``, METH = 1):
# RODAS4, 6 stages, order 4, embedded order 3, stiffly accurate, L-stable; not a W-method.
_RODAS4 = _rodas(
    "rodas4", 4, 0.25,
    ((1.544,), (0.9466785280815826, 0.2557011698983284),
     (3.314825187068521, 2.896124015972201, 0.9986419139977817),
     (1.221224509226641, 6.019134481288629, 12.53708332932087, -0.6878860361058950)),
    ((-5.6688,), (-2.430093356833875, -0.2063599157091915),
     (-0.1073529058151375, -9.594562251023355, -20.47028614809616),
     (7.496443313967647, -10.24680431464352, -33.99990352819905, 11.70890893206160),
     (8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136,
      -6.058818238834054)),
    "Hairer & Wanner 1996, RODAS4 (Solving ODEs II, sec. VI.4)")
# Steinebach, "Construction of Rosenbrock-Wanner method Rodas5P and numerical benchmarks
# within the Julia Differential Equations package", BIT 63 (2023) 27: Rodas5P, 8 stages,
# order 5, embedded order 4, stiffly accurate, L-stable; not a W-method.
_RODAS5P = _rodas(
    "rodas5p", 5, 0.21193756319429014,
    ((3.0,), (2.849394379747939, 0.45842242204463923),
     (-6.954028509809101, 2.489845061869568, -10.358996098473584),
     (2.8029986275628964, 0.5072464736228206, -0.3988312541770524, -0.04721187230404641),
     (-7.502846399306121, 2.561846144803919, -11.627539656261098, -0.18268767659942256,
      0.030198172008377946)),
    ((-14.155112264123755,), (-17.97296035885952, -2.859693295451294),
     (147.12150275711716, -1.41221402718213, 71.68940251302358),
     (165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306),
     (24.854864614690072, -3.0009227002832186, 47.4931110020768, 5.5814197821558125,
      -0.6610691825249471),
     (30.91273214028599, -3.1208243349937974, 77.79954646070892, 34.28646028294783,
      -19.097331116725623, -28.087943162872662),
     (37.80277123390563, -3.2571969029072276, 112.26918849496327, 66.9347231244047,
      -40.06618937091002, -54.66780262877968, -9.48861652309627)),
    "Steinebach 2023, Rodas5P")
ROSENBROCK_TABLEAUS = {t.name: t for t in (
    _RODAS4, _RODAS5P,
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
