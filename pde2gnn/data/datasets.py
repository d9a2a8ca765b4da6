"""Data sets via torch_geometric, and where they live.

The data root is, in order: the ``root`` argument (``--data-root``), the ``PDE2GNN_DATA``
environment variable, else ``~/.cache/pde2gnn/data`` (torch_geometric downloads there).
torch_geometric writes a ``processed/`` folder beside ``raw/``; when the data root is read-only
(a shared copy), the data set's folder is first copied to a writable cache
(``PDE2GNN_CACHE`` or ``~/.cache/pde2gnn/data``), never modified in place. Copying and processing
hold an inter-process file lock, so processes started together (the seeds of one experiment
spread over processes) never read a ``processed/`` file that another is still writing.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import torch
from torch_geometric.data import Data

from pde2gnn.errors import DataError, did_you_mean
from pde2gnn.resources import cache_dir  # noqa: F401 (re-exported)

PLANETOID = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
#: heterophilic data sets with the ten geom-gcn splits: key -> (torch_geometric class, name)
GEOM_GCN = {"texas": ("WebKB", "Texas"), "wisconsin": ("WebKB", "Wisconsin"),
            "cornell": ("WebKB", "Cornell"), "chameleon": ("WikipediaNetwork", "chameleon"),
            "squirrel": ("WikipediaNetwork", "squirrel"), "film": ("Actor", "Film"),
            "actor": ("Actor", "Film")}
DATASETS = tuple(PLANETOID.values()) + tuple(sorted({v[1] for v in GEOM_GCN.values()}))


def data_root(root: Optional[str] = None) -> Path:
    """The data root: ``root``, else ``$PDE2GNN_DATA``, else ``~/.cache/pde2gnn/data``.

    Raises:
        DataError: ``root`` (``--data-root``) or ``$PDE2GNN_DATA`` is not an existing folder
            (it is never created: a typo would otherwise start a download into a new tree).
    """
    r = root or os.environ.get("PDE2GNN_DATA")
    if not r:
        return cache_dir()
    path = Path(r).expanduser()
    if not path.is_dir():
        what = "--data-root" if root else "PDE2GNN_DATA"
        raise DataError(f"{what} {r} is not an existing folder (it is not created implicitly): "
                        "create it, or point it at the folder holding the data sets")
    return path


@contextmanager
def _exclusive(folder: Path):
    """Hold an inter-process lock on ``folder`` (a lock file under :func:`cache_dir`)."""
    from filelock import FileLock

    locks = cache_dir() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:12]
    with FileLock(str(locks / f"{key}.lock")):
        yield


def _writable(root: Path, sub: str) -> Path:
    """``root`` if ``root/sub`` can be written, else a cached copy of ``root/sub``."""
    src = root / sub
    if not src.exists():
        return root
    probe = src
    if os.access(probe, os.W_OK) and all(os.access(p, os.W_OK) for p in src.rglob("*")
                                         if p.is_dir()):
        return root
    dst_root = cache_dir() / "copies" / hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:12]
    dst = dst_root / sub
    if not dst.exists():
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("processed"))
    return dst_root


def load_planetoid(name: str, root: Optional[str] = None, split: str = "public") -> Data:
    """Cora / CiteSeer / PubMed with the Planetoid split (``public``, ``full``, ``geom-gcn``...).

    Returns a torch_geometric ``Data`` with ``x [N, F]``, ``y [N]``, ``edge_index [2, E]`` and
    boolean ``train_mask``, ``val_mask``, ``test_mask`` ``[N]`` (``[N, 10]`` for geom-gcn).

    Raises:
        DataError: unknown name, or the files are missing and cannot be downloaded.
    """
    from torch_geometric.datasets import Planetoid

    key = name.lower()
    if key not in PLANETOID:
        hint = did_you_mean(name, list(PLANETOID.values()))
        raise DataError(f"unknown data set '{name}' (known: {', '.join(DATASETS)})"
                        + (f"; {hint}" if hint else ""))
    pname = PLANETOID[key]
    base = data_root(root)   # DataError if --data-root does not exist (never created)
    try:
        with _exclusive(base / "Planetoid"):
            base = _writable(base, "Planetoid")
            ds = Planetoid(str(base / "Planetoid"), pname, split=split)
    except Exception as e:  # download failures, corrupt files
        raise DataError(f"could not load {pname} from {base / 'Planetoid'}: {e}. Set "
                        "--data-root or PDE2GNN_DATA to a folder holding Planetoid/"
                        f"{pname}/raw, or allow torch_geometric to download it") from None
    return ds[0]


def load_geom_gcn(name: str, root: Optional[str] = None, directed: bool = False) -> Data:
    """Texas / Wisconsin / Cornell (WebKB), chameleon / squirrel (WikipediaNetwork, geom-gcn
    preprocessing), Film (Actor), with the ten geom-gcn splits (Pei et al., ICLR 2020).

    The raw edge lists are directed (a hyperlink from page j to page i is the edge j -> i,
    ``edge_index[0] = j``); by default the graph is made undirected (every edge in both
    directions, duplicates merged). ``directed=True`` keeps the raw list as torch_geometric reads
    it (coalesced), as the reference codes of G^2 and ACMP do: node i then aggregates over the
    pages that link to it only (chameleon: 36,101 edges, 1,413 of 2,277 nodes receive none,
    against 62,792 undirected). Self-loops are added by the model (``self_loops``). Returns
    ``Data`` with masks ``[N, 10]``.

    Raises:
        DataError: unknown name, or the files are missing and cannot be downloaded.
    """
    from torch_geometric import datasets as D
    from torch_geometric.utils import to_undirected

    key = name.lower()
    if key not in GEOM_GCN:
        raise DataError(f"unknown data set '{name}' (known: {', '.join(DATASETS)})")
    cls, pname = GEOM_GCN[key]
    base = data_root(root)   # DataError if --data-root does not exist (never created)
    try:
        with _exclusive(base / cls):
            base = _writable(base, cls)
            if cls == "WebKB":
                ds = D.WebKB(str(base / cls), pname)
            elif cls == "WikipediaNetwork":
                ds = D.WikipediaNetwork(str(base / cls), pname, geom_gcn_preprocess=True)
            else:
                ds = D.Actor(str(base / cls))
    except Exception as e:  # download failures, corrupt files
        raise DataError(f"could not load {pname} from {base / cls}: {e}. Set --data-root or "
                        f"PDE2GNN_DATA to a folder holding {cls}/...") from None
    data = ds[0]
    if not directed:
        data.edge_index = to_undirected(data.edge_index, num_nodes=data.num_nodes)
    return data


def load_dataset(name: str, root: Optional[str] = None, split: Optional[str] = None,
                 directed: bool = False) -> Data:
    """Load a node-classification data set by name.

    Planetoid data sets (:func:`load_planetoid`) take ``split`` (default ``public``; ``geom-gcn``
    for the ten 60/20/20 splits); the heterophilic ones (:func:`load_geom_gcn`) always come with
    their ten geom-gcn splits. ``directed``: keep the raw direction of a heterophilic set's
    edges (:func:`load_geom_gcn`).

    Raises:
        DataError: an unknown name or split, or ``directed`` for a Planetoid set (its graph
            is undirected as published: there is no direction to keep).
    """
    if name.lower() in GEOM_GCN:
        if split not in (None, "geom-gcn"):
            raise DataError(f"{name} has only the geom-gcn splits, not '{split}'")
        return load_geom_gcn(name, root, directed)
    if directed and name.lower() in PLANETOID:
        raise DataError(f"directed = true keeps the raw edge direction of the heterophilic "
                        f"sets ({', '.join(sorted(GEOM_GCN))}); {name}'s graph is undirected "
                        f"as published")
    if name.lower() not in PLANETOID:
        hint = did_you_mean(name, DATASETS)
        raise DataError(f"unknown data set '{name}' (known: {', '.join(DATASETS)})"
                        + (f"; {hint}" if hint else ""))
    return load_planetoid(name, root, split or "public")


def largest_connected_component(data: Data) -> Data:
    """The subgraph on the largest connected component (torch_geometric's transform)."""
    from torch_geometric.transforms import LargestConnectedComponents

    return LargestConnectedComponents(num_components=1)(data.clone())


def random_split(data: Data, seed: int, per_class: int = 20, num_development: int = 1500) -> Data:
    """GRAND / BLEND random split (Chamberlain et al. 2021, Table 3 protocol).

    ``num_development`` nodes are drawn at random; of these, ``per_class`` per class train and the
    rest validate; every node outside the development set is a test node. Returns a copy of
    ``data`` with new boolean ``train_mask``, ``val_mask``, ``test_mask`` ``[N]``.
    """
    g = torch.Generator().manual_seed(seed)
    n = data.num_nodes
    dev = torch.randperm(n, generator=g)[:min(num_development, n)]
    train = []
    for c in range(int(data.y.max()) + 1):
        cls = dev[data.y[dev] == c]
        train.append(cls[torch.randperm(cls.numel(), generator=g)[:per_class]])
    train = torch.cat(train)
    masks = [torch.zeros(n, dtype=torch.bool) for _ in range(3)]
    masks[0][train] = True
    masks[1][dev] = True
    masks[1][train] = False
    masks[2][:] = True
    masks[2][dev] = False
    out = data.clone()
    out.train_mask, out.val_mask, out.test_mask = masks
    return out
