"""The runs of one experiment spread over processes with torch.distributed.

``torchrun --standalone --nproc-per-node P -m pde2gnn train SPEC ... --distributed`` starts P
processes (ranks). Each runs its share of the (split, seed) runs, ``runs[rank::P]``, and writes
its own results file beside ``--results`` (``NAME.rank<r>.json``), so processes never write one
file together; when all are done, rank 0 joins them into ``--results`` with the summary (mean ±
std) recomputed over all runs (:func:`pde2gnn.train.results.merge`). ``pde2gnn merge OUT IN...`` does the same join by hand, e.g. for
runs started separately with ``--first-seed``. The process group (gloo on CPU, nccl on CUDA)
serves only the final barrier: runs are independent, so nothing else is communicated.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Tuple

from pde2gnn.errors import OptionError


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
