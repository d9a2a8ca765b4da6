"""The property the fuzzer checks, shared by ``tests/compiler/test_fuzz.py`` and its slow profile.

:func:`run_pipeline` takes spec text through every stage a user reaches: parse -> check ->
``to_stencil`` -> ``explain(..., 'python')`` -> ``compile`` (or ``compile_stepper``) -> one
evaluation and a backward pass, on a small random graph with random inputs. It returns
``None`` when everything succeeded, or the :class:`~pde2gnn.errors.Pde2GnnError` raised;
:func:`check_outcome` asserts that a raised error is a located, user-facing one. Any other
exception, and running past the time limit, is a failure of the property.
"""
from __future__ import annotations

import re
import signal
import warnings
from contextlib import contextmanager

import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.check import check
from pde2gnn.errors import DataError, OptionError, Pde2GnnError, SpecError
from pde2gnn.compiler.lang.parser import parse

FILENAME = "fuzz.pde"
#: a spec error names file:line:col (of the fuzzed file, or of the library parent a child
#: spec extends: an inherited statement is quoted from its own file)
LOCATED = re.compile(r"(" + re.escape(FILENAME) + r"|\S+\.pde):\d+:\d+: ")
N_NODES = 7


class CaseTimeout(Exception):
    """A fuzz case ran past its time limit (a failure of the property)."""


@contextmanager
def time_limit(seconds: float):
    """Raise :class:`CaseTimeout` in the main thread after ``seconds`` (SIGALRM)."""
    def handler(signum, frame):
        raise CaseTimeout(f"case ran past {seconds} s")
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def jittered_grid(n: int, dim: int = 2, seed: int = 0, jitter: float = 0.15) -> torch.Tensor:
    """``n`` points ``[n, dim]`` in [0.1, 0.9]^dim, float64: the first ``n`` nodes of a regular
    grid, each moved by at most ``jitter`` of a cell at random. A well-conditioned point set: no three
    points collinear, no four cocircular, triangles of a Delaunay mesh close to equilateral in
    size, so stencil weights stay O(1 / h^2) and results do not hang on the last bits."""
    side = max(2, round(n ** (1.0 / dim) + 0.4999))
    gen = torch.Generator().manual_seed(seed)
    axes = torch.meshgrid(*[torch.arange(side, dtype=torch.float64)] * dim, indexing="ij")
    cells = torch.stack([a.reshape(-1) for a in axes], 1)[:n]
    cells = cells + jitter * (2 * torch.rand(cells.shape, generator=gen, dtype=torch.float64) - 1)
    return 0.1 + 0.8 * (cells + jitter) / (side - 1 + 2 * jitter)


def assert_close_norm(got: torch.Tensor, want: torch.Tensor, rtol: float) -> None:
    """``|got - want| <= rtol * |want|`` in the Euclidean norm over all entries (shapes equal):
    a tolerance relative to the size of the answer, so a test does not record one machine's
    rounding of large or cancelling values."""
    assert got.shape == want.shape, f"shape {tuple(got.shape)} != {tuple(want.shape)}"
    err, scale = (got - want).norm().item(), want.norm().item()
    assert err <= rtol * max(scale, 1e-300), f"relative error {err / max(scale, 1e-300):.3g} > {rtol:g}"


def small_graph(n: int = N_NODES):
    """A symmetric ring with two chords on ``n`` nodes, and positions ``[n, 3]`` on a jittered
    grid in [0.1, 0.9]^2 (third coordinate 0.1 k / n): every stencil scheme gets a
    well-conditioned point set (:func:`jittered_grid`)."""
    pairs = [(k, (k + 1) % n) for k in range(n)] + [(0, n // 2), (1, n - 2)]
    src = [a for a, b in pairs] + [b for a, b in pairs]
    dst = [b for a, b in pairs] + [a for a, b in pairs]
    third = 0.1 * torch.arange(n, dtype=torch.float64)[:, None] / n
    pos = torch.cat([jittered_grid(n, 2), third], 1)
    return torch.tensor([src, dst]), pos.float()


def run_pipeline(text: str, dims=None, params=None, seed: int = 0, graph=None):
    """Run ``text`` through the whole pipeline; the Pde2GnnError raised, or None. ``graph``:
    ``(edge_index [2, E], pos [N, 3])`` instead of :func:`small_graph`."""
    gen = torch.Generator().manual_seed(seed)
    chosen = set()   # dimensions the harness binds: options like those a user passes
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec = parse(text, FILENAME)
            checked = check(spec)
            dims = {**{k: 2 for k, v in checked.dims.items() if v is None}, **(dims or {})}
            chosen = set(checked.dims) | set(checked.params)   # both set by --dim / --param
            compiler.to_stencil(spec, dims, params)
            compiler.explain(spec, "python", dims, params)
            ei, pos = small_graph() if graph is None else graph
            n_nodes = pos.shape[0]
            inputs = {}
            for name, t in checked.inputs.items():
                if checked.domain is not None and (name == checked.domain.name
                                                   or name in checked.coordinates):
                    continue
                c = t.channels if isinstance(t.channels, int) else dims.get(t.channels, 2)
                if name in checked.masks:      # a node mask: booleans
                    inputs[name] = torch.rand(n_nodes, generator=gen) < 0.3
                    continue
                if name in checked.series:     # a time series: values [T, N, c], times [T]
                    inputs[name] = (torch.randn(3, n_nodes, int(c) if isinstance(c, int) else 2,
                                                generator=gen), torch.tensor([0.0, 0.5, 1.0]))
                    continue
                rows = n_nodes if t.kind == "node" else ei.shape[1]
                inputs[name] = torch.randn(rows, int(c) if isinstance(c, int) else 2,
                                           generator=gen)
            if checked.domain is not None:
                inputs[checked.domain.name] = pos[:, :len(checked.domain.bounds)]
            if checked.discrete:
                st = compiler.compile_stepper(spec, ei, n_nodes, dims, params, inputs)
                f = torch.randn(2, n_nodes, st.channels, generator=gen, requires_grad=True)
                out, hidden = st(f, st.init_hidden(2))
                loss = out.sum() + sum(h.sum() for h in hidden)
            else:
                vf = compiler.compile(spec, ei, n_nodes, dims, params, inputs)
                y0 = torch.randn(n_nodes, vf.state_width, generator=gen, requires_grad=True)
                vf.prepare(y0)
                loss = vf(torch.tensor(0.0), y0).sum()
            if loss.requires_grad:   # a constant right-hand side has nothing to differentiate
                loss.backward()
    except Pde2GnnError as e:
        e.harness_options = chosen
        return e
    return None


def check_outcome(err, options=()) -> None:
    """Assert that ``err`` (from :func:`run_pipeline`) is acceptable: None, a spec error
    located at file:line:col, or an option / data error naming one of ``options``."""
    if err is None:
        return
    msg = str(err)
    options = set(options) | getattr(err, "harness_options", set())
    if isinstance(err, SpecError) and err.span is None:   # about the whole file: only this one
        assert msg.startswith(f"{FILENAME}: form error: the spec is empty"), msg
    elif isinstance(err, SpecError):
        assert LOCATED.match(msg), f"spec error without file:line:col: {msg!r}"
    elif isinstance(err, (OptionError, DataError)):
        # an option error names the option; a data error names the input or the graph
        named = [f"'{o}'" for o in options] + [f"{o}=" for o in options]
        if isinstance(err, DataError):
            named += ["graph", "input '", "coordinates '", "state"]
        assert any(n in msg for n in named), \
            f"option / data error naming none of {sorted(options)}: {msg!r}"
    else:
        raise AssertionError(f"unexpected {type(err).__name__}: {msg}")


# ------------------------------------------------------------------ PDEConv on random graphs
def random_graph(gen: torch.Generator, n: int, edges: int, loops: bool, repeats: bool,
                 symmetric: bool):
    """``(edge_index [2, E], pos [n, 3])``: ``edges`` random directed edges on ``n`` nodes
    (isolated nodes likely), with self-loops unless ``loops`` is False, a repeated edge if
    ``repeats``, both directions of every edge if ``symmetric``; positions uniform in [0, 1]^3."""
    src = torch.randint(0, n, (edges,), generator=gen)
    dst = torch.randint(0, n, (edges,), generator=gen)
    ei = torch.stack([src, dst])
    if not loops:
        ei = ei[:, ei[0] != ei[1]]
    if symmetric:
        ei = torch.unique(torch.cat([ei, ei.flip(0)], 1), dim=1)
    if repeats and ei.shape[1]:
        ei = torch.cat([ei, ei[:, :1]], 1)
    return ei, torch.rand(n, 3, generator=gen)


def run_pdeconv(spec: str, dims, parts, seed: int = 0, time: float = 0.5):
    """``PDEConv(spec)`` on a batch of graphs ``parts`` (a list of ``(edge_index, n)``): one
    solve on their disjoint union with ``batch``, forward and backward, and one solve per
    graph; the union must equal the separate solves (fixed rk4 steps: up to rounding) and be
    finite. Returns the Pde2GnnError raised, or None; any other exception, a non-finite result
    or a mismatch is a failure of the property (an AssertionError)."""
    from pde2gnn.models.pdeconv import PDEConv
    from pde2gnn.integrate.solve import SolverConfig
    gen = torch.Generator().manual_seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(seed)
            conv = PDEConv(spec, time=time, solver=SolverConfig(method="rk4", step_size=0.25),
                           **dims).double().eval()
            kinds = conv._input_kinds
            channels = getattr(conv, "_input_channels", {})
            xs, inputs, union, batch, offset = [], [], [], [], 0
            for g, (ei, n) in enumerate(parts):
                xs.append(torch.randn(n, conv.state_width, generator=gen, dtype=torch.float64))
                inputs.append({k: torch.randn(n if kind == "node" else ei.shape[1],
                                              channels[k], generator=gen, dtype=torch.float64)
                               for k, kind in kinds.items()})
                union.append(ei + offset)
                batch += [g] * n
                offset += n
            x = torch.cat(xs).requires_grad_(True)
            joined = {k: torch.cat([i[k] for i in inputs]) for k in kinds}
            together = conv(x, torch.cat(union, 1), batch=torch.tensor(batch),
                            inputs=joined or None)
            together.sum().backward()
            assert torch.isfinite(together).all() and torch.isfinite(x.grad).all(), \
                "a finite solve with a non-finite value or gradient"
            alone = torch.cat([conv(xg, ei, inputs=ig or None)
                               for xg, (ei, _), ig in zip(xs, parts, inputs)])
            scale = float(alone.detach().abs().max()) + 1.0 if alone.numel() else 1.0
            err = float((together.detach() - alone.detach()).abs().max()) \
                if alone.numel() else 0.0
            assert err <= 1e-9 * scale, \
                f"the batch differs from separate solves by {err:.3g} (scale {scale:.3g})"
    except Pde2GnnError as e:
        return e
    return None
