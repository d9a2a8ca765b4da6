"""The processes of tests/graph/test_partition.py::test_partitioned_training_equals_one_process:
node classification on Cora in float64, trained on 2 gloo ranks with the graph partitioned
(``train(..., partition=2)``) and in one process (the same seed and configuration); rank 0
writes both histories to a JSON file."""
import json
import os

import torch
import torch.distributed as dist

from pde2gnn.data.datasets import load_dataset
from pde2gnn.train.config import make_config
from pde2gnn.train.tasks.node_classification import train

#: a few epochs of GRAND-l (dopri5, direct backpropagation) and heat (rk4 with per-step
#: checkpointing; T = 0.02, as lap on Cora's degrees up to 168 makes rk4 unstable beyond
#: h = 0.008), without dropout (each rank draws the masks of its own nodes, so dropout is
#: not reproduced partitioned)
CASES = {
    "grand": dict(epochs=3, hidden=16, time=1.0, dropout=0.0, input_dropout=0.0, method="dopri5",
                  rtol=1e-6, atol=1e-8, lr=0.01),
    "heat": dict(epochs=3, hidden=8, time=0.02, dropout=0.0, input_dropout=0.0, method="rk4",
                 step_size=0.005, checkpoint=True, lr=0.01),
}


def worker(rank, world, store, root, out):
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank,
                            world_size=world)
    try:
        data = load_dataset("Cora", root)
        data.x = data.x.double()
        results = {}
        for spec, values in CASES.items():
            cfg = make_config(values)
            part = train(spec, data, cfg, progress=False, partition=world)
            one = train(spec, data, cfg, progress=False) if rank == 0 else None
            if rank == 0:
                results[spec] = {"partitioned": part, "one": one}
        if rank == 0:
            with open(out, "w") as fh:
                json.dump(results, fh)
    finally:
        dist.destroy_process_group()
