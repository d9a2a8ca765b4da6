"""Training curves from a results JSON of ``pde2gnn train`` (``pde2gnn plot RESULTS.json``)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

from pde2gnn.errors import OptionError

#: panel titles of the history keys that need their unit or meaning said
TITLES = {"loss": "training loss", "train_acc": "train accuracy (fraction)",
          "val_acc": "validation accuracy (fraction)", "val_loss": "validation loss",
          "integration_time": "integration time T (spec units, not wall time)",
          "time": "integration time T (spec units, not wall time)",
          "nfe": "NFE per forward solve", "val_mae": "validation MAE (data units)",
          "teacher_prob": "teacher-forcing probability"}


def plot_training_curves(results_path: str, out: Optional[str] = None) -> str:
    """A PNG with one panel per quantity of the runs' per-epoch ``history`` (loss, train and
    validation accuracy, NFE, ...) and one line per (split, seed) run.

    Args:
        results_path: a results JSON written by ``pde2gnn train`` (any task whose runs keep a
            ``history`` list of per-epoch dicts).
        out: the PNG path (default: beside the JSON, ``NAME.curves.png``).

    Returns:
        The PNG's path.

    Raises:
        OptionError: the file is missing, not JSON, or its runs hold no history.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(results_path)
    try:
        doc = json.loads(path.read_text())
        runs = doc["runs"]
    except FileNotFoundError:
        raise OptionError(f"plot: results file not found: {path}") from None
    except (ValueError, KeyError, TypeError) as e:
        raise OptionError(f"plot: {path} is not a results JSON of `pde2gnn train` ({e})") \
            from None
    runs = [r for r in runs if isinstance(r, dict) and r.get("history")]
    if not runs:
        raise OptionError(f"plot: the runs in {path} keep no per-epoch history")
    keys = [k for k, v in runs[0]["history"][-1].items()
            if k != "epoch" and isinstance(v, (int, float)) and not isinstance(v, bool)]
    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        for r in runs:
            h = [e for e in r["history"] if isinstance(e.get(key), (int, float))]
            ax.plot([e.get("epoch", i) for i, e in enumerate(h)], [e[key] for e in h], lw=1,
                    label=f"split {r.get('split_index', 0)} seed {r.get('seed', '?')}")
        ax.set_title(TITLES.get(key, key), fontsize=9)
        ax.set_xlabel("epoch")
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    if len(runs) <= 10:
        axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{doc.get('model', '?')} on {doc.get('dataset', doc.get('data', '?'))}")
    fig.tight_layout()
    out = out or str(path.with_suffix("")) + ".curves.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
