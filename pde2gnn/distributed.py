"""The runs of one experiment spread over processes with torch.distributed, and results merged.

``torchrun --standalone --nproc-per-node P -m pde2gnn train SPEC ... --distributed`` starts P
processes (ranks). Each runs its share of the (split, seed) runs, ``runs[rank::P]``, and writes
its own results file beside ``--results`` (``NAME.rank<r>.json``), so processes never write one
file together; when all are done, rank 0 joins them into ``--results`` with the summary (mean ±
std) recomputed over all runs. ``pde2gnn merge OUT IN...`` does the same join by hand, e.g. for
runs started separately with ``--first-seed``. The process group (gloo on CPU, nccl on CUDA)
serves only the final barrier: runs are independent, so nothing else is communicated.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Sequence, Tuple

from .errors import OptionError


def world() -> Tuple[int, int, int]:
    """``(rank, world size, local rank)`` from torchrun's environment (``(0, 1, 0)`` outside)."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


def start(device: str) -> Tuple[int, int, str]:
    """Join the process group (gloo, or nccl for a CUDA device); ``(rank, size, device)`` with
    a CUDA device made per-process (``cuda:<local rank>``).

    Raises:
        OptionError: not started by torchrun (no ``WORLD_SIZE`` / ``MASTER_ADDR``).
    """
    import torch.distributed as dist

    if "WORLD_SIZE" not in os.environ or "MASTER_ADDR" not in os.environ:
        raise OptionError("--distributed runs under torchrun: torchrun --standalone "
                          "--nproc-per-node P -m pde2gnn train ... --distributed")
    rank, size, local = world()
    cuda = str(device).startswith("cuda")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return rank, size, (f"cuda:{local}" if cuda else device)


def barrier_and_stop() -> None:
    """Wait for every rank, then leave the process group."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def rank_path(results: str, rank: int) -> str:
    """``dir/NAME.json`` -> ``dir/NAME.rank<rank>.json``: the file rank ``rank`` writes."""
    p = Path(results)
    return str(p.with_name(f"{p.stem}.rank{rank}{p.suffix or '.json'}"))


def merge_results(paths: Sequence[str]) -> dict:
    """Join node-classification results files of one experiment (same model, data set,
    split and configuration) into one, with the summary recomputed over all runs.

    A (split, seed) run present in several files is kept once (the first).

    Raises:
        OptionError: a file is missing or not a results JSON of ``pde2gnn train``, or the
            files come from different experiments.
    """
    from .tasks.node_classification import summarize

    if not paths:
        raise OptionError("merge needs at least one results file")
    docs = []
    for p in paths:
        try:
            doc = json.loads(Path(p).read_text())
            doc["runs"], doc["config"]   # noqa: B018 - the keys every results file has
        except FileNotFoundError:
            raise OptionError(f"merge: results file not found: {p}") from None
        except (ValueError, KeyError, TypeError) as e:
            raise OptionError(f"merge: {p} is not a results JSON of `pde2gnn train` ({e})") \
                from None
        if "test_acc" not in (doc["runs"][0] if doc["runs"] else {"test_acc": 0}):
            raise OptionError(f"merge: {p} holds no node-classification runs")
        docs.append(doc)
    first = docs[0]
    for p, doc in zip(paths, docs):
        for key in ("model", "dataset", "split", "config"):
            if doc.get(key) != first.get(key):
                raise OptionError(f"merge: {p} has another {key} than {paths[0]} "
                                  f"({doc.get(key)!r} vs {first.get(key)!r}): not one experiment")
    runs: List[dict] = []
    seen = set()
    for doc in docs:
        for r in doc["runs"]:
            key = (r.get("split_index", 0), r.get("seed"))
            if key not in seen:
                seen.add(key)
                runs.append(r)
    runs.sort(key=lambda r: (r.get("split_index", 0), r.get("seed", 0)))
    out = {k: v for k, v in first.items() if k not in ("runs",)}
    out.update(summarize(runs))
    out.update({"splits": sorted({r.get("split_index", 0) for r in runs}),
                "seeds": sorted({r.get("seed") for r in runs}), "merged_from": list(paths),
                "runs": runs})
    return out
