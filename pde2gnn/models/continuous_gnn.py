"""The encoder -> ODE block -> decoder network of node classification (GRAND / BLEND / GRAFF).

Model: input dropout -> linear encoder -> ODE block integrated to time T -> ReLU -> [linear ->
ReLU, if ``fc_out``] -> dropout -> linear decoder (Chamberlain et al. 2021, "GRAND: Graph Neural
Diffusion", section 4). ``encoder_act``, ``decoder_act`` and ``dropout_at`` give other heads:
NSD's reference (Bodnar et al. 2022) is input dropout -> linear -> ELU -> dropout -> layers ->
linear (``encoder_act = "elu"``, ``dropout_at = "encoder"``, ``decoder_act = "none"``;
``second_linear`` adds its optional linear layer after the dropout). GREAD's head (Choi et al.
2023): ``encoder_mlp`` adds two residual ReLU layers after the encoder, ``decoder_mlp``
replaces the linear decoder by a residual tanh layer and a tanh output layer
(:class:`~pde2gnn.models.features.ResidualMLP`).

BLEND (Chamberlain et al. 2021, "Beltrami Flow and Neural Diffusion on Graphs"): when a
positional encoding is given and the spec has the field ``config.pos_field`` (``u``) besides
others, that field is encoded from it by its own linear encoder, the other fields from the node
features; a ``graph knn(u, k=...)`` clause makes the diffusion graph the k-nearest-neighbour
graph in the positional coordinates (:func:`pde2gnn.graph.construction.feature_knn_graph`),
rebuilt by :meth:`ContinuousGNN.rewire`. The training loop, data and splits are
:mod:`pde2gnn.train.tasks.node_classification`.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import add_self_loops, remove_self_loops

from pde2gnn.compiler.pipeline import compile as compile_spec
from pde2gnn.compiler.pipeline import front, load
from pde2gnn.compiler.graph_clause import knn_clause
from pde2gnn.errors import OptionError
from pde2gnn.graph.construction import feature_knn_graph
from pde2gnn.integrate.solve import EulerLayers, ODEBlock
from pde2gnn.models.features import (  # noqa: F401
    Dropout, FeatureLinear, ResidualMLP, as_model_input, dropout_linear)


#: activations of the encoder / decoder side of :class:`ContinuousGNN`
ACTIVATIONS = {"none": lambda z: z, "relu": torch.relu, "elu": nn.functional.elu}


class ContinuousGNN(nn.Module):
    """Encoder -> compiled ODE block -> decoder.

    Args:
        spec: the spec (name, path, text or parsed); its fields side by side form the state.
        data: graph with ``x [N, F]`` and ``edge_index [2, E]``.
        num_classes: C.
        config: hyperparameters, a :class:`pde2gnn.train.train_config.TrainConfig` (or any
            object with its fields); ``config.hidden`` binds the dimension ``d``.

        label_mask: ``[N]`` bool, the labelled (training) nodes; bound to the spec's ``input
            label_mask : node[1]`` if it declares one (1.0 on labelled nodes, else 0.0), as
            GRAND++'s source term needs (Thorpe et al. 2022).

    ``forward(x)`` maps ``[N, F]`` features to ``[N, C]`` logits.

    Raises:
        OptionError: the spec declares ``label_mask`` and none was given; a positional
            encoding without a positional field, and the other option conflicts below.
    """

    def __init__(self, spec, data: Data, num_classes: int, config,
                 pos: Optional[Tensor] = None, label_mask: Optional[Tensor] = None):
        super().__init__()
        spec = load(spec)
        checked = front(spec)
        self.config = config
        self.pos_field = config.pos_field if (pos is not None and config.pos_field in
                                              checked.fields and len(checked.fields) > 1) else None
        if pos is not None and self.pos_field is None:
            raise OptionError(f"a positional encoding was given but spec '{checked.name}' has no "
                              f"field '{config.pos_field}' beside its feature field(s)")
        clause = knn_clause(checked)
        if self.pos_field is None and clause is not None:
            raise OptionError(f"spec '{checked.name}' rewires with graph knn(...): it needs a "
                              "positional encoding (set posenc, e.g. --posenc ppr)")
        self.knn = None
        if clause is not None:
            self.knn = config.knn_k or clause.k
        if pos is not None:
            self.register_buffer("pos", as_model_input(
                torch.as_tensor(pos, dtype=torch.get_default_dtype())))
        else:
            self.pos = None
        edge_index = data.edge_index
        if self.knn is not None and config.rewire_from == "pos":
            edge_index = feature_knn_graph(torch.as_tensor(pos), self.knn)
        elif config.self_loops:
            edge_index, _ = remove_self_loops(edge_index)
            edge_index, _ = add_self_loops(edge_index, num_nodes=data.num_nodes)
        if not config.encoder and self.pos_field is not None:
            raise OptionError("encoder = false needs a spec without a positional field: the "
                              "raw features can fill only one field")
        dims = {"d": config.hidden if config.encoder else data.num_features, **config.dims}
        inputs = {}
        if "label_mask" in checked.inputs:
            if label_mask is None:
                raise OptionError(f"spec '{checked.name}' reads the input label_mask (the "
                                  "labelled nodes); give the training mask")
            inputs["label_mask"] = label_mask.reshape(-1, 1).to(torch.get_default_dtype())
        self.field = compile_spec(spec, edge_index, data.num_nodes, dims=dims,
                                  params=config.params, inputs=inputs)
        width = self.field.state_width
        self.input_dropout = Dropout(config.input_dropout)
        slices = self.field.field_slices
        pos_width = 0 if self.pos_field is None else slices[self.pos_field].stop - \
            slices[self.pos_field].start
        if not config.encoder and width != data.num_features:
            raise OptionError(f"encoder = false: spec '{checked.name}' has a {width}-channel "
                              f"state, the features have {data.num_features} channels (one field "
                              "of width d is needed)")
        self.decode_index = decode_index(slices, config.decode_fields, checked.name)
        self.shared = shared_width(slices, config, checked.name, pos_width)
        enc_width = self.shared or width - pos_width
        self.encoder = FeatureLinear(data.num_features, enc_width) if config.encoder else None
        self.encoder2 = nn.Linear(enc_width, enc_width) \
            if config.second_linear and config.encoder else None
        self.pos_encoder = FeatureLinear(self.pos.shape[1], pos_width) if pos_width else None
        self.dropout = Dropout(config.dropout)
        self.encoder_mlp = ResidualMLP(enc_width, 2, torch.relu, self.dropout,
                                       dropout_first=True) if config.encoder_mlp else None
        if config.per_layer_weights:
            if self.knn is not None:
                raise OptionError("per_layer_weights: a spec with `graph knn(...)` rewires one "
                                  "field; use shared weights")
            self.ode = EulerLayers([self.field] + [
                compile_spec(spec, edge_index, data.num_nodes, dims=dims, params=config.params,
                             inputs=inputs)
                for _ in range(config.euler_layers() - 1)], config.time)
        else:
            self.ode = ODEBlock(self.field, config.time, config.solver)
        dec_width = width if self.decode_index is None else len(self.decode_index)
        self.fc = nn.Linear(dec_width, dec_width) if config.fc_out else None
        self.decoder = ResidualMLP(dec_width, 1, torch.tanh, self.dropout, out=num_classes) \
            if config.decoder_mlp else nn.Linear(dec_width, num_classes)
        if self.knn is not None and config.rewire_from == "u0":
            self.rewire()

    def encode(self, x: Tensor) -> Tensor:
        """z(0) ``[N, D]``: the fields side by side; the positional field from ``pos``."""
        h = self.after_encoder(dropout_linear(x, self.encoder, self.input_dropout))
        if self.encoder2 is not None:
            h = self.encoder2(h)
        if self.encoder_mlp is not None:
            h = self.encoder_mlp(h)
        if self.shared:
            h = h.repeat(1, len(self.field.field_slices))
        if self.pos_encoder is None:
            return h
        p = self.after_encoder(dropout_linear(self.pos, self.pos_encoder, self.input_dropout))
        parts, start = [], 0
        for f, sl in self.field.field_slices.items():
            if f == self.pos_field:
                parts.append(p)
            else:
                w = sl.stop - sl.start
                parts.append(h[:, start:start + w])
                start += w
        return torch.cat(parts, dim=1)

    @torch.no_grad()
    def rewire(self) -> None:
        """BLEND-kNN: rebuild the diffusion graph as the kNN graph of the encoded u(0)."""
        if self.knn is None:
            return
        if self.config.rewire_from == "pos":
            coords = self.pos.to_dense() if self.pos.is_sparse else self.pos
        else:
            coords = dropout_linear(self.pos, self.pos_encoder, None)
        self.field.set_graph(feature_knn_graph(coords, self.knn))

    def after_encoder(self, h: Tensor) -> Tensor:
        """``encoder_act``, then ``dropout`` if ``dropout_at = "encoder"``."""
        h = ACTIVATIONS[self.config.encoder_act](h)
        return self.dropout(h) if self.config.dropout_at == "encoder" else h

    def decode(self, z: Tensor) -> Tensor:
        """ODE state ``[..., N, D]`` -> logits ``[..., N, C]`` (of the ``decode_fields``)."""
        if self.decode_index is not None:
            z = z.index_select(-1, self.decode_index.to(z.device))
        z = ACTIVATIONS[self.config.decoder_act](z)
        if self.fc is not None:
            z = torch.relu(self.fc(z))
        return self.decoder(self.dropout(z) if self.config.dropout_at == "decoder" else z)

    def forward(self, x: Tensor, times: Optional[Tensor] = None) -> Tensor:
        """Features ``[N, F]`` -> logits ``[N, C]`` at T, or ``[K, N, C]`` at each of
        ``times`` ``[K]`` (positive, increasing)."""
        if times is None:
            return self.decode(self.ode(self.encode(x)))
        t = torch.cat([times.new_zeros(1), times])
        return self.decode(self.ode(self.encode(x), t)[1:])


def decode_index(slices: Dict[str, slice], names: List[str], spec: str) -> Optional[Tensor]:
    """The state columns ``[K]`` of the fields ``names`` (in the state's order), or None for all.

    Raises:
        OptionError: a name that is not a field of the spec.
    """
    if not names:
        return None
    unknown = [n for n in names if n not in slices]
    if unknown:
        raise OptionError(f"decode_fields: spec '{spec}' has no field {', '.join(unknown)} "
                          f"(its fields: {', '.join(slices)})")
    return torch.cat([torch.arange(sl.start, sl.stop) for f, sl in slices.items() if f in names])


def shared_width(slices: Dict[str, slice], config, spec: str,
                 pos_width: int) -> int:
    """With ``config.shared_init``: the width of one field, which the encoder produces and every
    field copies at t = 0; else 0.

    Raises:
        OptionError: fields of different widths, a positional field or no encoder.
    """
    if not config.shared_init:
        return 0
    widths = {sl.stop - sl.start for sl in slices.values()}
    if len(widths) != 1 or pos_width or not config.encoder:
        raise OptionError(f"shared_init: spec '{spec}' needs fields of one width, no positional "
                          f"field and an encoder (widths {sorted(widths)})")
    return widths.pop()
