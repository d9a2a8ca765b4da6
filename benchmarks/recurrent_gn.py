"""Compiled recurrent graph network (library/rgn.pde) vs a hand-written torch version, in one
process, on the NOAA station graph (137 nodes, symmetric 4-NN).

The compiler takes the first layer of a message MLP ``msg(cat(h_i, h_j, rel))`` block by block,
the node blocks once per node and then gathered (``MLP.on_edges``); the hand-written version
concatenates per edge, as a direct transcription of the equations would. Prints the time of a
rollout (``--steps`` frames, batch ``--batch``) forward and forward + backward, for both, and
the ratio compiled / hand-written.

    python benchmarks/recurrent_gn.py --data-root ../shared/data [--batch 16] [--steps 24]
"""
from __future__ import annotations

import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.data.forecast import load_forecast_data

from common import parser, timeit  # benchmarks/common.py


def hand_written_step(f, h1, h2, rel, i, j, nets):
    """One RGN frame: messages on the per-edge concatenation, summed with index_add."""
    def sum_j(e):
        return torch.zeros(*e.shape[:-2], f.shape[-2], e.shape[-1], dtype=e.dtype,
                           device=e.device).index_add_(e.dim() - 2, i, e)
    B = f.shape[0]
    m1 = sum_j(nets.msg1(torch.cat([h1[:, i], h1[:, j], rel.expand(B, -1, -1)], -1)))
    h1 = nets.cell1(torch.cat([f, m1], -1), h1)
    m2 = sum_j(nets.msg2(torch.cat([h2[:, i], h2[:, j]], -1)))
    h2 = nets.cell2(torch.cat([h1, m2], -1), h2)
    return f + nets.readout(h2), h1, h2


def main():
    ap = parser(repeats=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=24)
    args = ap.parse_args()
    data = load_forecast_data("noaa", args.data_root)
    ei, pos, n = data.edge_index, data.pos, data.num_nodes
    torch.manual_seed(0)
    st = compiler.compile_stepper("rgn", ei, n, inputs={"pos": pos}).to(args.device)
    nets = st.update.nets
    ei, pos = ei.to(args.device), st.update.inputs.pos
    j, i = ei[0], ei[1]
    rel = pos[j] - pos[i]
    f0 = torch.randn(args.batch, n, 1, device=args.device)

    def compiled():
        f, hidden = f0, st.init_hidden(args.batch)
        out = []
        for _ in range(args.steps):
            f, hidden = st(f, hidden)
            out.append(f)
        return torch.stack(out)

    def hand_written():
        f, (h1, h2) = f0, st.init_hidden(args.batch)
        out = []
        for _ in range(args.steps):
            f, h1, h2 = hand_written_step(f, h1, h2, rel, i, j, nets)
            out.append(f)
        return torch.stack(out)

    diff = (compiled() - hand_written()).abs().max().item()
    print(f"rgn on noaa: N {n}, E {ei.shape[1]}, batch {args.batch}, {args.steps} frames, "
          f"{args.device}, {torch.get_num_threads()} thread(s); max |compiled - hand| {diff:.1e}")
    def with_backward(rollout):
        return lambda: rollout().square().sum().backward()

    for label, tc_fn, th_fn in (("rollout", compiled, hand_written),
                                ("rollout + backward", with_backward(compiled),
                                 with_backward(hand_written))):
        tc = timeit(tc_fn, args.repeats, args.device)
        th = timeit(th_fn, args.repeats, args.device)
        print(f"  {label:20s} compiled {1e3 * tc:8.1f} ms   hand-written {1e3 * th:8.1f} ms"
              f"   ratio {tc / th:.2f}")


if __name__ == "__main__":
    main()
