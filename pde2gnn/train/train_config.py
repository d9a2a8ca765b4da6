"""The hyperparameters of node classification (:class:`TrainConfig`), apart from the model code
so that reading a TOML (:mod:`pde2gnn.train.config`) loads neither the task nor torch_geometric."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

from pde2gnn.errors import OptionError
from pde2gnn.options import check_fields, check_params
from pde2gnn.integrate.solver_config import SolverConfig

#: the encoder / decoder activations a config may name (their functions:
#: pde2gnn.train.tasks.node_classification.ACTIVATIONS, a test checks both agree)
ACTIVATION_NAMES = ("none", "relu", "elu")


@dataclass
class TrainConfig:
    """Hyperparameters of :func:`train` (defaults; library specs ship per-data-set values)."""

    hidden: int = 64
    input_dropout: float = 0.5
    dropout: float = 0.0
    lr: float = 0.01
    weight_decay: float = 5e-4
    sheaf_decay: Optional[float] = None  # weight decay of the restriction-map networks
    #                                      (the NSD reference's sheaf_decay; None: weight_decay)
    optimizer: str = "adam"
    epochs: int = 100
    time: float = 1.0
    self_loops: bool = True
    fc_out: bool = False            # extra hidden linear + ReLU before the decoder (GRAFF)
    encoder: bool = True            # False: the ODE runs on the raw features, d = F (GRAFF's
    #                                 "scalable" setting); input dropout still applies
    normalize_features: bool = False  # rows of x scaled to sum 1 (torch_geometric's
    #                                   NormalizeFeatures, as the NSD reference loads its data)
    directed: bool = False          # keep the raw edge direction of a geom-gcn set (the G^2 and
    #                                 ACMP references' graph; default: made undirected)
    encoder_act: str = "none"       # activation after the encoder: none | relu | elu (NSD)
    decoder_act: str = "relu"       # activation of x(T) before the decoder: relu | elu | none
    dropout_at: str = "decoder"     # where `dropout` applies: before the decoder (GRAND) or
    #                                 after the encoder activation (NSD: "encoder")
    second_linear: bool = False     # a second linear layer (no activation) after the encoder's
    #                                 activation and dropout (the NSD reference's second_linear)
    encoder_mlp: bool = False       # two residual ReLU layers with dropout after the encoder
    #                                 (GREAD's use_mlp; models.features.ResidualMLP)
    decoder_mlp: bool = False       # a residual tanh layer and a tanh output layer, with
    #                                 dropout, as the decoder (GREAD's m2_mlp)
    shared_init: bool = False       # every field of the state starts from the same encoding
    #                                 (the fields must have equal widths; GraphCON's X0 = Y0)
    decode_fields: List[str] = field(default_factory=list)  # the fields the decoder reads
    #                                 (empty: all, side by side; GraphCON decodes X only)
    per_layer_weights: bool = False  # explicit Euler with a separate copy of the vector
    #                                  field's weights per step (solve.EulerLayers; NSD's layers)
    dims: Dict[str, int] = field(default_factory=dict)
    params: Dict[str, float] = field(default_factory=dict)
    solver: SolverConfig = field(default_factory=SolverConfig)
    # BLEND: positional coordinates and rewiring
    posenc: Optional[str] = None    # ppr | lap | rw | deepwalk (None: no positional input)
    posenc_dim: int = 16            # columns of the encoding (ppr: 0 keeps the N-wide rows)
    ppr_alpha: float = 0.05         # ppr: restart probability (DIGL)
    ppr_topk: int = 64              # ppr: entries kept per row (DIGL top-k sparsification;
    #                                 0: dense and column-normalised, the BLEND reference)
    ppr_eps: float = 0.0            # ppr: > 0 pushes an approximate PPR to this threshold,
    #                                 column-normalised (the BLEND reference on PubMed; topk unused)
    pos_field: str = "u"            # the spec field encoded from the positional encoding
    knn_k: int = 0                  # k of a `graph knn(...)` clause (0: the spec's k)
    rewire_from: str = "pos"        # knn in the raw encoding ('pos') or in the encoded u(0) ('u0')
    rewire_every: int = 0           # rebuild the knn graph every K epochs (0: once)
    # integration time chosen on validation (the reference's GNNEarly): 0 off, else evaluate on
    # select_points evenly spaced times in (0, select_time * T]
    select_time: float = 0.0
    select_points: int = 32
    # model selection: the epoch of best validation "accuracy", or of least validation "loss"
    # (cross-entropy; the NSD reference's stop_strategy); patience > 0 stops training after that
    # many epochs without a better one (early stopping)
    select_by: str = "accuracy"
    patience: int = 0
    # node order of the solve (pde2gnn.data.order): "given" keeps the data set's, "metis"
    # relabels part by part of a METIS partition (locality for the sparse kernels), "auto"
    # relabels graphs of at least pde2gnn.data.order.AUTO_NODES nodes (with pymetis)
    node_order: str = "auto"

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Check every option before any work: the numeric ones by their rules in
        :data:`pde2gnn.options.RULES` (the solver's are checked by
        :class:`~pde2gnn.integrate.solve.SolverConfig` itself), the choices and combinations here.

        Raises:
            OptionError: naming the option, e.g. ``epochs must be at least 1, got 0``.
        """
        check_fields(self)
        check_params(self.params)
        if isinstance(self.decode_fields, str) or not all(
                isinstance(f, str) for f in self.decode_fields):
            raise OptionError(f"decode_fields must be a list of field names, got "
                              f"{self.decode_fields!r}")
        if self.per_layer_weights:
            self.euler_layers()
            if self.select_time:
                raise OptionError("per_layer_weights gives the state at T of fixed layers; it "
                                  "cannot be combined with select_time")
        if self.select_by == "loss" and self.select_time:
            raise OptionError("select_by = 'loss' selects an epoch at the fixed time T; it "
                              "cannot be combined with select_time")
        for name, allowed in (("encoder_act", ACTIVATION_NAMES), ("decoder_act", ACTIVATION_NAMES),
                              ("dropout_at", ("decoder", "encoder")),
                              ("select_by", ("accuracy", "loss")),
                              ("node_order", ("auto", "given", "metis"))):
            if getattr(self, name) not in allowed:
                raise OptionError(f"{name} must be one of {', '.join(allowed)}, got "
                                  f"{getattr(self, name)!r}")

    def euler_layers(self) -> int:
        """The number of layers L = time / step_size of ``per_layer_weights`` (explicit Euler).

        Raises:
            OptionError: another method, no step size, or time not a whole number of steps.
        """
        sv = self.solver
        layers = round(self.time / sv.step_size) if sv.step_size else 0
        if sv.method != "euler" or layers < 1 or abs(layers * sv.step_size - self.time) > 1e-9:
            raise OptionError("per_layer_weights needs method = 'euler' and a time that is a "
                              f"whole number of steps, got method {sv.method!r}, time "
                              f"{self.time}, step_size {sv.step_size}")
        return layers

    def to_dict(self) -> dict:
        return asdict(self)
