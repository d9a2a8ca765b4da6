"""Where the grammar and the library specs live (installed with the package as package data)."""
from __future__ import annotations

import os
from pathlib import Path

from pde2gnn.errors import OptionError, did_you_mean

_PKG = Path(__file__).resolve().parent


def _top(name: str) -> Path:
    """The top-level folder ``name``: inside the installed package, or beside it in a checkout."""
    for cand in (_PKG / "_data" / name, _PKG.parent / name):
        if cand.is_dir():
            return cand
    raise FileNotFoundError(f"pde2gnn installation is missing its '{name}/' folder")


def grammar_path() -> Path:
    """Path of ``grammar/pde.lark``."""
    return _top("grammar") / "pde.lark"


def library_dir() -> Path:
    """Folder of the library specs (``library/*.pde`` and their ``*.toml`` defaults)."""
    return _top("library")


def library_models() -> list:
    """Names of the library specs, e.g. ``['grand', 'heat', ...]``."""
    return sorted(p.stem for p in library_dir().glob("*.pde"))


def resolve_spec(name_or_path: str) -> Path:
    """A library model name (``grand``) or a path to a ``.pde`` file -> the spec's path.

    Raises:
        OptionError: neither a readable file nor a library model.
    """
    p = Path(name_or_path)
    if p.suffix == ".pde" or p.exists():
        if not p.is_file():
            raise OptionError(f"spec file not found: {name_or_path}")
        return p
    lib = library_dir() / f"{name_or_path}.pde"
    if lib.is_file():
        return lib
    hint = did_you_mean(name_or_path, library_models())
    raise OptionError(f"unknown model '{name_or_path}': not a file and not one of the library "
                      f"models ({', '.join(library_models())})" + (f"; {hint}" if hint else ""))


def cache_dir() -> Path:
    """Writable cache: ``$PDE2GNN_CACHE`` or ``~/.cache/pde2gnn/data``."""
    return Path(os.environ.get("PDE2GNN_CACHE", "~/.cache/pde2gnn/data")).expanduser()
