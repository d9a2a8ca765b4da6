"""The ``node_classification`` task: a continuous spec as the ODE block of a node classifier."""
from __future__ import annotations

from typing import List

from pde2gnn.train.tasks.task import given, kv, SHARED, Task


class NodeClassification(Task):
    """A continuous spec as the ODE block of a node classifier
    (:mod:`pde2gnn.train.tasks.node_classification`): Planetoid / geom-gcn / random LCC splits,
    accuracy at the best validation epoch."""

    name = "node_classification"
    help = "continuous specs: node classification with --dataset"
    fields = {
        "test_acc": "test accuracy at the selected epoch: a fraction in [0, 1] (the log "
                    "prints it in percent); in the summary, the list over runs",
        "test_acc_mean": "mean of test_acc over the runs (fraction in [0, 1])",
        "test_acc_std": "population standard deviation of test_acc over the runs (fraction)",
        "val_acc": "validation accuracy at the selected epoch (fraction in [0, 1])",
        "train_acc": "training accuracy at the selected epoch (fraction in [0, 1])",
        "val_loss": "validation cross-entropy at the selected epoch (nats per node)",
        "best_epoch": "the selected epoch (0-based; see selection)",
        "best_time": "integration time T at which the selected epoch was evaluated (spec "
                     "time units, not wall time; chosen on validation with select_time)",
        "epoch_time_s": "wall-clock seconds of one training epoch (forward solve, loss, "
                        "backward, optimiser step), mean over epochs (and runs)",
        "epoch_time_total_s": "wall-clock seconds of one whole epoch: the training epoch plus "
                              "the evaluation forward pass on all nodes, mean over epochs",
        "nfe_forward": "vector-field evaluations of one forward solve, mean over epochs",
        "nfe_backward": "vector-field evaluations of one backward pass, mean over epochs",
        "nfe_linear": "implicit / IMEX methods (where nfe counts evaluations of N): products "
                      "with the split's linear part L in one forward solve, mean over epochs",
        "linear_iterations": "implicit / IMEX methods: linear-solver (CG / GMRES) iterations "
                             "of one forward solve, mean over epochs",
        "peak_memory_mb": "peak memory in MiB (GPU: allocated by torch; CPU: the process's "
                          "peak resident set)",
        "split_sha256": "SHA-256 of the train / val / test masks (equal digests: same split)",
        "split": "the split protocol: public, full, geom-gcn or random",
        "selection": "the model-selection rule that gave best_epoch and test_acc",
        "history": "per epoch: loss (training cross-entropy), train_acc and val_acc "
                   "(fractions), val_loss, integration_time (T, spec time units), nfe, "
                   "nfe_linear, linear_iterations, linear_rejections (implicit / IMEX: steps "
                   "of the forward solve rejected because a linear solve failed)",
    }
    shared = frozenset(SHARED) - {"data"}
    OPTIONS = ("time", "step_size", "integrator", "adjoint", "compile", "checkpoint",
               "dropout", "input_dropout",
               "optimizer", "posenc", "posenc_dim", "ppr_alpha", "ppr_topk", "ppr_eps",
               "knn_k",
               "rewire_from", "rewire_every", "self_loops", "fc_out", "encoder", "normalize_features",
               "directed",
               "encoder_act", "second_linear", "encoder_mlp", "decoder_mlp",
               "per_layer_weights", "sheaf_decay",
               "decoder_act", "dropout_at", "select_time", "select_points", "select_by",
               "node_order")

    @staticmethod
    def add_options(q) -> None:
        import argparse
        q.add_argument("--dataset", help="Cora (default), CiteSeer, PubMed, or a heterophilic "
                       "data set (Texas, Wisconsin, Cornell, Chameleon, Squirrel, Actor)")
        q.add_argument("--split", default=None, help="public (Planetoid default), full, "
                       "geom-gcn, or random: largest connected component, 20 labels per class, "
                       "1500 development nodes, a new split per seed; the heterophilic data sets "
                       "always use geom-gcn")
        q.add_argument("--labels-per-class", type=int, metavar="K",
                       help="--split random: K training labels per class (default 20; GRAND++'s "
                       "low-label protocol uses 1, 2, 5, 10)")
        q.add_argument("--splits", type=int, help="train on the first N of the data set's "
                       "splits (geom-gcn has 10) and report mean ± std over them (default 1)")
        q.add_argument("--partition", type=int, metavar="K", help="split the graph into K "
                       "METIS parts, one per process, under torchrun --nproc-per-node K (halo "
                       "exchanges, all-reduced loss and gradients; rank 0 writes the results)")
        q.add_argument("--plot-energy", metavar="PATH", help="after training, write the "
                       "Dirichlet energy of x(t)/|x(t)| along the solve to PATH (PNG) and "
                       "classify the dynamics as low / high frequency dominated (LFD / HFD)")
        q.add_argument("--dropout", type=float)
        q.add_argument("--input-dropout", type=float)
        q.add_argument("--optimizer", choices=["adam", "adamax", "adamw"])
        q.add_argument("--time", type=float, help="integration time T")
        q.add_argument("--step-size", type=float, help="step of fixed-step methods; 'none' "
                       "unsets a TOML step_size (adaptive steps for an adaptive --method)")
        q.add_argument("--integrator", choices=["pde2gnn", "torchdiffeq"],
                       help="pde2gnn (default): the fused Runge-Kutta loop; torchdiffeq: "
                       "torchdiffeq.odeint (the reference)")
        q.add_argument("--adjoint", action="store_true", default=None)
        q.add_argument("--compile", action="store_true", default=None,
                       help="torch.compile the solve: whole fixed-step Runge-Kutta steps, or "
                       "the field of an adaptive method (pays on small graphs after a first "
                       "call of tens of seconds; see docs/guide/performance.md)")
        q.add_argument("--checkpoint", action="store_true", default=None,
                       help="per-step gradient checkpointing (fixed-step methods): keep one "
                       "state per step for the backward pass, recompute the stages")
        q.add_argument("--self-loops", action=argparse.BooleanOptionalAction, default=None,
                       help="add a self-loop to every node of the diffusion graph")
        q.add_argument("--fc-out", action=argparse.BooleanOptionalAction, default=None,
                       help="linear + ReLU between the ODE block and the decoder (GRAFF)")
        q.add_argument("--encoder", action=argparse.BooleanOptionalAction, default=None,
                       help="linear encoder before the ODE block (--no-encoder: the ODE runs "
                       "on the raw features, d = number of features)")
        q.add_argument("--normalize-features", action=argparse.BooleanOptionalAction,
                       default=None, help="scale each node's features to sum 1 "
                       "(torch_geometric's NormalizeFeatures; the NSD reference does)")
        q.add_argument("--directed", action=argparse.BooleanOptionalAction, default=None,
                       help="keep the raw direction of a heterophilic set's edges (node i "
                       "aggregates over the pages linking to it; the G^2 and ACMP reference "
                       "codes' graph); default: made undirected")
        q.add_argument("--node-order", choices=["auto", "given", "metis"],
                       help="node order of the solve: metis relabels the graph part by part of "
                       "a METIS partition (locality for the sparse kernels; metrics unchanged); "
                       "auto (default) does so from 10^5 nodes with pymetis; given keeps it")
        q.add_argument("--select-by", choices=["accuracy", "loss"], help="the epoch reported: "
                       "best validation accuracy (default) or least validation loss (NSD)")
        q.add_argument("--encoder-act", choices=["none", "relu", "elu"],
                       help="activation after the encoder (NSD: elu)")
        q.add_argument("--second-linear", action=argparse.BooleanOptionalAction, default=None,
                       help="a second linear layer after the encoder's activation and dropout "
                       "(the NSD reference's second_linear)")
        q.add_argument("--encoder-mlp", action=argparse.BooleanOptionalAction, default=None,
                       help="two residual ReLU layers with dropout after the encoder "
                       "(GREAD's use_mlp)")
        q.add_argument("--decoder-mlp", action=argparse.BooleanOptionalAction, default=None,
                       help="a residual tanh layer and a tanh output layer, with dropout, as "
                       "the decoder (GREAD's m2_mlp)")
        q.add_argument("--per-layer-weights", action=argparse.BooleanOptionalAction,
                       default=None, help="explicit Euler with separate weights at every step "
                       "(time / step-size layers, as NSD's; default: one set shared by all)")
        q.add_argument("--sheaf-decay", type=float, help="weight decay of the restriction-map "
                       "networks (NSD's sheaf_decay; default: --weight-decay)")
        q.add_argument("--decoder-act", choices=["none", "relu", "elu"],
                       help="activation of x(T) before the decoder (default relu)")
        q.add_argument("--dropout-at", choices=["decoder", "encoder"],
                       help="where --dropout applies: before the decoder (default, GRAND) or "
                       "after the encoder (NSD)")
        q.add_argument("--posenc", choices=["ppr", "lap", "rw", "deepwalk", "none"],
                       help="positional encoding for the spec's positional field u (BLEND)")
        q.add_argument("--posenc-dim", type=int,
                       help="columns of the encoding (ppr: 0 = N-wide rows)")
        q.add_argument("--ppr-alpha", type=float,
                       help="ppr: restart probability (default 0.05)")
        q.add_argument("--ppr-topk", type=int, help="ppr: entries kept per row (default 64; 0: "
                       "dense, column-normalised, as the BLEND reference code)")
        q.add_argument("--ppr-eps", type=float,
                       help="ppr: push an approximate PPR to this threshold, column-normalised, "
                       "as the BLEND reference on PubMed (gdc_threshold 0.01); 0 (default): "
                       "exact, top-k sparsified")
        q.add_argument("--knn-k", type=int, help="k of a graph knn(...) clause")
        q.add_argument("--rewire-from", choices=["pos", "u0"],
                       help="knn in the raw encoding or in the encoded u(0)")
        q.add_argument("--rewire-every", type=int, help="rebuild the knn graph every K epochs")
        q.add_argument("--select-time", type=float, metavar="XT",
                       help="choose the integration time on validation: evaluate on times up "
                       "to XT * T (the GRAND / BLEND reference's early-stopping integrator, "
                       "earlystopxT = 3); 0: evaluate at T")
        q.add_argument("--select-points", type=int, metavar="K",
                       help="--select-time: evenly spaced evaluation times (default 32)")

    @property
    def random(self) -> bool:
        return self.args.split == "random"

    @property
    def _per_class(self) -> int:
        """Training labels per class of a random split.

        Raises:
            OptionError: --labels-per-class without --split random."""
        k = getattr(self.args, "labels_per_class", None)
        if k is not None and not self.random:
            from pde2gnn.errors import OptionError
            raise OptionError("--labels-per-class sets the training labels of --split random; "
                              f"the split here is {self.args.split or 'the default'}")
        return 20 if k is None else k

    def setup(self):
        config = self.configure(None)    # the options are checked before any data is read
        self._per_class   # noqa: B018 (checked before any data is read, too)
        return self.load(), config

    def load(self):
        from pde2gnn.data.datasets import largest_connected_component, load_dataset, random_split
        a = self.args
        data = load_dataset(self._dataset, a.data_root, "public" if self.random else a.split,
                            directed=self.configure(None).directed)
        if self.random:   # BLEND / GRAND protocol: largest connected component
            data = random_split(largest_connected_component(data), 0, self._per_class)
        self._split = a.split or ("geom-gcn" if self.num_splits(data) > 1 else "public")
        return data

    @property
    def _dataset(self) -> str:
        return self.args.dataset or "Cora"

    def dataset(self, data) -> str:
        return self._dataset

    @staticmethod
    def config_defaults():
        from pde2gnn.train.config import TrainConfig
        return TrainConfig().to_dict()

    def configure(self, data):
        from pde2gnn.train.config import make_config
        values = self.toml_values(self._dataset)
        values.update(given(self.args, self.shared | set(self.OPTIONS)))
        values["dims"] = {**values.get("dims", {}), **kv(self.args.dim, int)}
        values["params"] = {**values.get("params", {}), **kv(self.args.param, float)}
        if self.args.posenc == "none":
            values["posenc"] = None
        config = make_config(values)
        self._select_time = bool(config.select_time)
        return config

    def num_splits(self, data) -> int:
        return data.train_mask.shape[1] if data.train_mask.dim() == 2 else 1

    def describe(self, data, config) -> List[str]:
        sizes = "/".join(str(int((m[:, 0] if m.dim() == 2 else m).sum()))
                         for m in (data.train_mask, data.val_mask, data.test_mask))
        return [f"{self.spec_path.stem} on {self._dataset} ({self._split} split): "
                f"{data.num_nodes} nodes, {data.num_edges} edges, {sizes} train/val/test",
                *super().describe(data, config)]

    def run(self, data, config, split_index, seed, device, log) -> dict:
        from pde2gnn.data.datasets import random_split
        from pde2gnn.train.tasks.node_classification import train
        run_data = random_split(data, seed, self._per_class) if self.random else data
        plot = self.args.plot_energy
        if plot and self.args.partition:
            from pde2gnn.errors import OptionError
            raise OptionError("--plot-energy needs the whole graph: run it without --partition")
        r = train(self.spec_path, run_data, config, seed=seed, split_index=split_index,
                  device=device, progress=self.progress, log=log, return_model=bool(plot),
                  partition=self.args.partition or 0)
        model = r.pop("model", None)
        if plot:
            from pde2gnn.train.diagnostics import energy_report
            r["energy"] = energy_report(model, run_data, plot)
            print(r["energy"]["summary"])
        return r

    def run_line(self, r) -> str:
        at_time = f" t = {r['best_time']:.2f}" if self._select_time else ""
        return (f"test acc {100 * r['test_acc']:.2f}% at epoch {r['best_epoch']}{at_time} "
                f"(val {100 * r['val_acc']:.2f}%), {r['epoch_time_s']:.3f} s/epoch, NFE fwd "
                f"{r['nfe_forward']:.1f} bwd {r['nfe_backward']:.1f}{_linear(r)}")

    @staticmethod
    def summarize(runs):
        from pde2gnn.train.tasks.node_classification import summarize
        return summarize(runs)

    def report(self, data, s, runs) -> List[str]:
        return [f"test accuracy: {100 * s['test_acc_mean']:.2f} ± {100 * s['test_acc_std']:.2f} "
                f"% (validation {100 * sum(s['val_acc']) / len(runs):.2f} %) over {len(runs)} "
                f"run(s); {s['epoch_time_s']:.3f} s/epoch; NFE forward {s['nfe_forward']:.1f}, "
                f"backward {s['nfe_backward']:.1f} per epoch{_linear(s)}"]

    def header(self, data, config) -> dict:
        if self.args.partition:
            return {"split": self._split, "partition": self.args.partition}
        return {"split": self._split}


def _linear(r: dict) -> str:
    """The split counts of implicit / IMEX solves (``nfe`` counts evaluations of N there):
    products with L and linear-solver iterations per forward solve; empty for other methods."""
    if not (r.get("nfe_linear") or r.get("linear_iterations")):
        return ""
    return (f" (implicit / IMEX: NFE counts N; L products {r['nfe_linear']:.1f}, solver "
            f"iterations {r['linear_iterations']:.1f} per forward solve)")
