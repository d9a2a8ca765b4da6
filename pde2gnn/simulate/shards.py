"""Shards: ``simulate --shard i/n`` (each shard solves every n-th chunk into its own folder)
and ``pde2gnn merge OUT.npz SHARD_DIR...`` (:func:`merge_shards`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from pde2gnn.errors import OptionError
from pde2gnn.simulate.archive import _write_archive
from pde2gnn.simulate.config import SimulationConfig


def parse_shard(text: str) -> Tuple[int, int]:
    """``'i/n'`` -> ``(i, n)`` with 0 <= i < n.

    Raises:
        OptionError: not of the form i/n with 0 <= i < n.
    """
    try:
        i, n = (int(v) for v in str(text).split("/"))
    except ValueError:
        raise OptionError(f"--shard takes i/n (shard i of n, counted from 0), got '{text}'") \
            from None
    _check_shard((i, n), None)
    return i, n


def _check_shard(shard, chunks: Optional[int]) -> Tuple[int, int]:
    i, n = (int(v) for v in shard)
    if not (n >= 1 and 0 <= i < n):
        raise OptionError(f"--shard {i}/{n}: need 0 <= i < n (shards 0/{n} ... {n - 1}/{n})")
    if chunks is not None and i >= chunks:
        raise OptionError(f"--shard {i}/{n}: the run has only {chunks} chunk(s) of --batch "
                          f"trajectories, so shard {i} would have nothing to do; use at most "
                          f"{chunks} shards or a smaller --batch")
    return i, n


def shard_path(out, i: int, n: int) -> Path:
    """The folder shard ``i`` of ``n`` of the run writing ``out`` (``DIR/NAME.npz``) writes
    its chunks to: ``DIR/NAME.shard<i>-of-<n>``."""
    p = Path(out)
    return p.with_name(f"{p.stem}.shard{i}-of-{n}")


def _save_atomic(path: Path, **arrays) -> None:
    """``np.savez`` through a temporary file and a rename: a chunk file is whole or absent."""
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def _open_shard(folder: Path, common: dict, info: dict, shard: Tuple[int, int]) -> None:
    """Create a shard folder with ``header.npz`` (the arrays every shard shares, and the run's
    description), or check that an existing one was written by the same run (then its
    finished chunks are kept: the shard resumes).

    Raises:
        OptionError: the folder holds another run's shard.
    """
    folder.mkdir(parents=True, exist_ok=True)
    header = folder / "header.npz"
    doc = {**info, "shard": list(shard)}
    if header.is_file():
        old = np.load(header, allow_pickle=False)
        same = json.loads(str(old["info"])) == json.loads(json.dumps(doc)) and all(
            k in old.files and np.array_equal(old[k], v) for k, v in common.items())
        if not same:
            raise OptionError(f"{folder} holds a shard of another simulation (other spec or "
                              "options); remove it or choose another --out")
        return
    _save_atomic(header, info=np.array(json.dumps(doc)), **common)


def merge_shards(out, folders, png=None, log: Callable[[str], None] = print) -> dict:
    """Join the shard folders of one ``simulate --shard i/n`` run into ``out`` (.npz): the
    same arrays, bit for bit, as the run without ``--shard`` (chunk c of ``batch``
    trajectories is solved the same way in either; ``meta`` differs only in the wall-clock
    fields of :data:`TIMING_KEYS`).

    Raises:
        OptionError: a folder is not a shard folder, the shards come from different runs, or a
            chunk is missing (its shard did not finish: rerun that shard, it resumes) or present
            twice.
    """
    if not folders:
        raise OptionError("merge needs at least one shard folder")
    heads, infos = [], []
    for f in folders:
        h = Path(f) / "header.npz"
        if not h.is_file():
            raise OptionError(f"merge: {f} is not a `pde2gnn simulate --shard` folder (no "
                              "header.npz)")
        heads.append(np.load(h, allow_pickle=False))
        infos.append(json.loads(str(heads[-1]["info"])))
    first_info = {k: v for k, v in infos[0].items() if k != "shard"}
    for f, h, inf in zip(folders, heads, infos):
        if {k: v for k, v in inf.items() if k != "shard"} != first_info or any(
                not np.array_equal(h[k], heads[0][k]) for k in heads[0].files if k != "info"):
            raise OptionError(f"merge: {f} is a shard of another simulation than {folders[0]}")
    common = {k: heads[0][k] for k in heads[0].files if k != "info"}
    C, B = first_info["chunks"], first_info["trajectories"]
    files: Dict[int, Path] = {}
    for f in folders:
        for cf in sorted(Path(f).glob("chunk_*.npz")):
            c = int(cf.stem.split("_")[1])
            if c in files:
                raise OptionError(f"merge: chunk {c} is in both {files[c].parent} and {f}")
            files[c] = cf
    missing = [c for c in range(C) if c not in files]
    if missing:
        n = infos[0]["shard"][1]
        who = sorted({c % n for c in missing})
        raise OptionError(f"merge: chunk(s) {missing} of {C} missing: shard(s) "
                          f"{', '.join(f'{i}/{n}' for i in who)} did not finish or were not "
                          "given; rerun them (a rerun keeps the finished chunks)")
    first_chunk = np.load(files[0])
    names = list(first_info["fields"])
    frames, extra = {}, {}
    nfe, solve_s, compile_s, jit_s = 0, 0.0, 0.0, 0.0
    for c in range(C):
        d = first_chunk if c == 0 else np.load(files[c])
        s = int(d["start"])
        nfe += int(d["nfe"])
        solve_s += float(d["solve_seconds"])
        compile_s += float(d["compile_seconds"])
        jit_s += float(d["torch_compile_seconds"]) if "torch_compile_seconds" in d.files else 0.0
        for k in d.files:
            if k.startswith("frames__"):
                v = d[k]
                f = k[len("frames__"):]
                if f not in frames:
                    frames[f] = np.empty((B, *v.shape[1:]), v.dtype)
                frames[f][s:s + len(v)] = v
            elif k in ("residual", "steady_time") or k.startswith("sum_"):
                v = d[k]
                if k not in extra:
                    extra[k] = np.empty((B, *v.shape[1:]), v.dtype)
                extra[k][s:s + len(v)] = v
    first = {f: first_chunk[f"first__{f}"] for f in names}
    frames = {f: frames[f] for f in names}
    cfg = SimulationConfig(**{k: (tuple(v) if k == "split" else v)
                              for k, v in first_info["options"].items()})
    timing = {"scheme": str(first_chunk["scheme"]) or None, "nfe": nfe, "solves": C,
              "solve_seconds": solve_s, "compile_seconds": compile_s,
              "torch_compile_seconds": jit_s, "wall_seconds": solve_s + compile_s + jit_s, "shards": infos[0]["shard"][1],
              "merged_from": [str(f) for f in folders]}
    return _write_archive(out, common, frames, extra, first, first_info, timing, cfg, png, log)
