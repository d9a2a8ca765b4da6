"""Sparse node features (bag-of-words rows: Planetoid, WebKB, Wikipedia; 0.5-6 % non-zero) and
the encoder ``linear(dropout(x))`` on them.

:func:`as_model_input` stores such features as a coalesced COO tensor; :func:`dropout_linear`
then draws the dropout mask on the stored values only (a dropped zero stays zero, so the output
has the distribution of dense dropout) and multiplies through :class:`_SparseLinear`: one CSR
product forward, one product with the transposed CSR structure for the weight's gradient,
both structures built once per feature matrix (:func:`_plan`). :class:`FeatureLinear`, the
encoder that reads them, stores its weight transposed (``weight_t [F, out]``, contiguous), the
layout both products use: no transposing copy of ``[F, out]`` forward or backward, and the
gradient is contiguous, so the fused Adam needs no copy either (a column-major ``nn.Linear``
weight would save the copies but make the fused Adam copy the non-contiguous parameter).
On Texas (183 x 1703, 4.9 % non-zero, 256 channels) the training step's encoder (forward and
backward) took 15.4 ms against 30.9 ms dense and 28.2 ms with ``torch.sparse.mm`` on the COO
tensor, whose backward fills and transposes a dense ``[F, out]`` gradient (one thread under
load average 11; the ratios are what counts; ``benchmarks/zoo_graphcon.py`` times the whole
step).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from pde2gnn.compiler.backend.pointwise_ops import inverted_dropout

#: CSR plans of recent sparse feature matrices, by the address of their COO indices; each entry
#: keeps its indices tensor alive, so an address is not reused while it is a key
_PLANS: dict = {}


class _Plan:
    """The CSR structure of a sparse ``[N, F]`` COO matrix (rows sorted, as coalesced COO is):
    ``crow [N + 1]``, ``col [nnz]``, and that of its transpose ``[F, N]``: ``t_crow [F + 1]``,
    ``t_col [nnz]``, ``t_perm [nnz]`` (the transpose's entries in the matrix's order)."""

    def __init__(self, x: Tensor):
        idx = x.indices()
        self.indices, (n, f) = idx, x.shape
        row, col = idx[0], idx[1]
        self.shape, self.col = (n, f), col.contiguous()
        self.crow = torch.zeros(n + 1, dtype=torch.long, device=idx.device)
        self.crow[1:] = torch.bincount(row, minlength=n).cumsum(0)
        self.t_perm = torch.argsort(col * n + row)
        self.t_crow = torch.zeros(f + 1, dtype=torch.long, device=idx.device)
        self.t_crow[1:] = torch.bincount(col, minlength=f).cumsum(0)
        self.t_col = row[self.t_perm].contiguous()


def _plan(x: Tensor) -> _Plan:
    """The (cached) :class:`_Plan` of the coalesced COO tensor ``x``."""
    key = (x.indices().data_ptr(), tuple(x.shape), x.device)
    if key not in _PLANS:
        if len(_PLANS) >= 16:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[key] = _Plan(x)
    return _PLANS[key]


class _SparseLinear(torch.autograd.Function):
    """``bias + X W^T`` for X ``[N, F]`` given by its CSR values on a :class:`_Plan`, the
    transposed weight ``wt = W^T`` ``[F, out]``, bias ``[out]``; gradients for ``wt``
    (``X^T G``, the transposed CSR structure, already in ``wt``'s layout) and the bias; none
    for X's values (the features are data)."""

    @staticmethod
    def forward(ctx, values, wt, bias, plan):
        ctx.plan = plan
        ctx.save_for_backward(values)
        n, f = plan.shape
        x = torch.sparse_csr_tensor(plan.crow, plan.col, values, (n, f), check_invariants=False)
        wt = wt.contiguous()
        return x @ wt if bias is None else torch.addmm(bias, x, wt)

    @staticmethod
    def backward(ctx, g):
        values, = ctx.saved_tensors
        plan = ctx.plan
        n, f = plan.shape
        gw = gb = None
        if ctx.needs_input_grad[1]:
            xt = torch.sparse_csr_tensor(plan.t_crow, plan.t_col,
                                         values.index_select(0, plan.t_perm), (f, n),
                                         check_invariants=False)
            gw = xt @ g.contiguous()
        if ctx.needs_input_grad[2]:
            gb = g.sum(0)
        return None, gw, gb, None


class FeatureLinear(nn.Module):
    """The linear encoder of node features, ``x W^T + b`` as ``nn.Linear(in_features,
    out_features)`` (same initialisation, the same random draws), with the weight stored
    transposed: the parameter ``weight_t`` ``[in, out]`` (contiguous), which the sparse product
    of :func:`dropout_linear` reads and whose gradient it produces without a transposing copy.
    ``weight`` is the ``[out, in]`` view of it, and ``state_dict`` / ``load_state_dict`` use
    ``nn.Linear``'s key and shape (``weight`` ``[out, in]``), so checkpoints are
    interchangeable with an ``nn.Linear`` encoder's.

    ``forward(x)``: dense ``x [..., in]`` -> ``[..., out]``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        lin = nn.Linear(in_features, out_features, bias=bias)
        self.in_features, self.out_features = in_features, out_features
        self.weight_t = nn.Parameter(lin.weight.detach().t().contiguous())
        self.bias = lin.bias

    @property
    def weight(self) -> Tensor:
        """``[out, in]``: a view of ``weight_t`` (writes through)."""
        return self.weight_t.t()

    def forward(self, x: Tensor) -> Tensor:
        if self.bias is None:
            return x @ self.weight_t
        return torch.addmm(self.bias, x.reshape(-1, self.in_features),
                           self.weight_t).reshape(*x.shape[:-1], self.out_features)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        w = destination.pop(prefix + "weight_t")
        destination[prefix + "weight"] = w.t() if keep_vars else w.t().contiguous()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if prefix + "weight" in state_dict:
            state_dict[prefix + "weight_t"] = state_dict.pop(prefix + "weight").t()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Dropout(nn.Dropout):
    """Inverted dropout (Srivastava et al., JMLR 2014) as ``nn.Dropout(p)``: in training each
    entry of ``x`` (any shape) is zeroed with probability p and the others scaled by
    1 / (1 - p); in evaluation ``x`` itself. On the CPU the mask is drawn as uniforms compared
    with p (:func:`~pde2gnn.compiler.backend.pointwise_ops.inverted_dropout`, the kernel the
    generated code's ``_G.dropout`` uses too) instead of torch's slower ``bernoulli_``; the same
    distribution, another random stream. ``inplace`` takes ``nn.Dropout``'s own path."""

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        if self.inplace:
            return super().forward(x)
        return inverted_dropout(x, self.p)


def dropout_linear(x: Tensor, linear, dropout: Optional[nn.Dropout]) -> Tensor:
    """``linear(dropout(x))`` for dense or sparse COO ``x [N, F]`` -> dense ``[N, out]``
    (``linear`` None: the identity, ``out = F``).

    For sparse ``x`` (bag-of-words features, sparsified PPR rows) the dropout draws one mask
    entry per stored value instead of N * F: dropping a zero leaves it zero, so the output has
    the same distribution as dense dropout, at nnz instead of N * F random draws and products.
    """
    if not x.is_sparse:
        x = x if dropout is None else dropout(x)
        return x if linear is None else linear(x)
    values = x.values() if dropout is None else dropout(x.values())
    if linear is None:
        return torch.sparse_coo_tensor(x.indices(), values, x.shape, is_coalesced=True,
                                       check_invariants=False).to_dense()
    wt = linear.weight_t if isinstance(linear, FeatureLinear) else linear.weight.t()
    return _SparseLinear.apply(values, wt, linear.bias, _plan(x))


def as_model_input(x: Tensor, max_density: float = 0.25) -> Tensor:
    """``x`` as a coalesced sparse COO tensor when at most ``max_density`` of it is non-zero
    (Planetoid and WebKB features: 1-10 %), else unchanged; see :func:`dropout_linear`."""
    if x.is_sparse or x.numel() == 0 or float((x != 0).float().mean()) > max_density:
        return x
    return x.to_sparse().coalesce()


class ResidualMLP(nn.Module):
    """Residual layers of GREAD's model head (Choi et al., ICML 2023; jeongwhanchoi/GREAD
    ``GNN.py`` and ``base_classes.py``), each ``h <- dropout(h + W act(h) + b)`` on
    ``[..., N, width]``, then optionally one output layer ``dropout(W_out act(h) + b_out)``.

    - ``encoder_mlp`` (the reference's ``use_mlp``): ``dropout(h)``, then two residual layers
      with ``act = relu`` (``m11``, ``m12``), after the linear encoder;
    - ``decoder_mlp`` (the reference's ``m2_mlp``): one residual layer and the output layer with
      ``act = tanh`` ("tanh not relu to keep sign"; ``m21``, ``m22``), in place of the linear
      decoder; its output, the logits, is dropped out too, as in the reference.

    Args:
        width: the state width D; ``out``: the output layer's width (None: no output layer).
        layers: number of residual layers; ``act``: ``torch.relu`` or ``torch.tanh``.
        dropout: the module applied after every layer (the model's ``dropout``).
        dropout_first: apply it to the input as well (``use_mlp`` does).
    """

    def __init__(self, width: int, layers: int, act, dropout: nn.Module,
                 out: Optional[int] = None, dropout_first: bool = False):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(layers))
        self.out = None if out is None else nn.Linear(width, out)
        self.act, self.dropout, self.dropout_first = act, dropout, dropout_first

    def forward(self, h: Tensor) -> Tensor:
        if self.dropout_first:
            h = self.dropout(h)
        for layer in self.layers:
            h = self.dropout(h + layer(self.act(h)))
        return h if self.out is None else self.dropout(self.out(self.act(h)))
