"""Results files of ``pde2gnn train``: written atomically after every run, resumed, merged.

A results JSON holds ``task``, ``model``, ``spec``, ``dataset``, ``fields`` (what each key
means, with its unit: :data:`FIELDS` and the task's ``fields``), the task's header fields
(:meth:`~pde2gnn.train.tasks.task.Task.header`), its summary of the runs, ``splits`` and ``seeds``
(those run), ``config``, ``device``, ``torch``, ``pde2gnn`` (version), ``spec_sha256``,
``command`` and ``runs``: one dict per (split, seed) run, each with ``split_index`` and ``seed``.
Files written before the ``task`` key existed are read too (:func:`task_of`).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from pde2gnn import provenance
from pde2gnn.errors import OptionError
from pde2gnn.train.tasks.registry import TASKS

#: the task of a results file written before files named theirs, told by a key of its runs
LEGACY_TASKS = (("mae_per_horizon", "forecasting"), ("interp", "dynamics"),
                ("test_mse", "nbody"), ("test_acc", "node_classification"))


def task_of(doc: dict) -> str:
    """The task that wrote a results document (older files: told by their runs' keys)."""
    if "task" in doc:
        return doc["task"]
    run = doc["runs"][0] if doc.get("runs") else {}
    return next((task for key, task in LEGACY_TASKS if key in run), "node_classification")


def check_writable(path: Optional[str], option: str = "--results") -> None:
    """Before any training: ``path`` can be created or replaced.

    Raises:
        OptionError: the path is a folder, lies under a file, or its folder is not writable.
    """
    if not path:
        return
    p = Path(path).expanduser().absolute()
    if p.is_dir():
        raise OptionError(f"{option} {path} is a folder; give a file path, e.g. "
                          f"{p / 'run.json'}")
    parent = p.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OptionError(f"{option} {path} cannot be created: {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise OptionError(f"{option} {path} is not writable (no write permission in {parent})")


def run_folder(model: str, dataset: str, root: Optional[str] = None) -> Path:
    """A new folder for one ``pde2gnn train`` command without ``--results``:
    ``ROOT/MODEL-DATASET-YYYYmmdd-HHMMSS`` (UTC; ``-2``, ``-3``... appended when it exists), ROOT
    being ``root``, else ``$PDE2GNN_RUNS``, else ``runs`` under the working folder. Created
    here, so two commands started in the same second get two folders.

    Raises:
        OptionError: the folder cannot be created (ROOT is a file, or not writable).
    """
    import re
    import time
    base = Path(root or os.environ.get("PDE2GNN_RUNS") or "runs")
    name = re.sub(r"[^A-Za-z0-9_.+-]+", "_", f"{model}-{Path(str(dataset)).name}")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    for k in range(1, 1000):
        folder = base / (f"{name}-{stamp}" + (f"-{k}" if k > 1 else ""))
        try:
            folder.mkdir(parents=True, exist_ok=False)
            return folder
        except FileExistsError:
            continue
        except OSError as e:
            raise OptionError(f"cannot create the run folder {folder} ({e.strerror}); set "
                              "PDE2GNN_RUNS or give --results PATH") from None
    raise OptionError(f"{base}: too many run folders named {name}-{stamp}; give --results")


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: a crash or a full disk
    never leaves a half-written results file (the previous one stays until the rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, p)


#: what the keys every results file has mean (the task adds its own: ``Task.fields``)
FIELDS = {
    "fields": "this table: what each key means, with its unit",
    "splits": "the split indices run", "seeds": "the seeds run",
    "config": "the full run configuration (built-in < the spec's TOML < the command line)",
    "device": "the torch device trained on", "torch": "torch's version",
    "pde2gnn": "pde2gnn's version", "spec_sha256": "SHA-256 of the spec's text",
    "command": "the command line", "runs": "one record per (split, seed) run, with "
                                           "split_index and seed; keys as described here",
}


def document(task, data, config, runs: List[dict], device: str) -> dict:
    """The results JSON of ``runs`` so far (see the module docstring)."""
    import torch

    spec = task.spec_path
    return {"task": task.name, "model": spec.stem, "spec": str(spec),
            "dataset": task.dataset(data), "fields": {**task.fields, **FIELDS},
            **task.header(data, config), **task.summarize(runs),
            "splits": sorted({r["split_index"] for r in runs}),
            "seeds": sorted({r["seed"] for r in runs}),
            "config": config.to_dict(), "device": device, "torch": torch.__version__,
            **provenance(spec.read_text(encoding="utf-8")),
            "command": "pde2gnn " + " ".join(sys.argv[1:]), "runs": runs}


def _read(path: Path, what: str) -> dict:
    try:
        doc = json.loads(path.read_text())
        doc["runs"], doc["config"]   # noqa: B018 - the keys every results file has
        return doc
    except FileNotFoundError:
        raise OptionError(f"{what}: results file not found: {path}") from None
    except (ValueError, KeyError, TypeError) as e:
        raise OptionError(f"{what}: {path} is not a results JSON of `pde2gnn train` ({e})") \
            from None


def _with_defaults(config, keys, task: str):
    """``config`` (a results file's) with each of ``keys`` it lacks set to the task's built-in
    value (:meth:`Task.config_defaults`): a key added to the config after the file was written,
    which the file's runs ran with at its default."""
    if not isinstance(config, dict) or task not in TASKS:
        return config
    defaults = json.loads(json.dumps(TASKS[task].config_defaults()))
    return {**{k: defaults[k] for k in set(keys) - config.keys() if k in defaults}, **config}


def resumed_runs(path: Optional[str], task: str, model: str, dataset: str,
                 config: dict) -> list:
    """The finished runs stored in ``path`` by an earlier, cut-off or shorter run of the same
    command (``--resume``); [] when the file does not exist yet.

    ``config`` is the new run's ``config.to_dict()``; a key the file lacks counts as the task's
    built-in value (it was added later: the file ran with its default).

    Raises:
        OptionError: no path, the file is not a results JSON, or it was written by another
            task, model, data set or configuration (its runs would not be comparable).
    """
    if path is None:
        raise OptionError("--resume needs --results PATH (the file whose finished runs to keep)")
    p = Path(path)
    if not p.is_file():
        return []
    old = _read(p, "--resume")
    new = json.loads(json.dumps(config))
    old_config = _with_defaults(old["config"], new.keys(), task)
    if (task_of(old), old.get("model", model), old.get("dataset")) != \
            (task, model, dataset) or old_config != new:
        raise OptionError(f"--resume: {p} was written for {old.get('model')} on "
                          f"{old.get('dataset')} with another configuration; use another "
                          "--results file or rerun without --resume")
    print(f"resuming: {len(old['runs'])} finished run(s) kept from {p}")
    return old["runs"]


def merge(paths: Sequence[str]) -> dict:
    """Join results files of one experiment (same task, model, data set, split and
    configuration) into one, with the task's summary recomputed over all runs.

    A (split, seed) run present in several files is kept once (the first). A config key that
    some files lack counts as the task's built-in value there (the option was added between
    the files).

    Raises:
        OptionError: a file is missing or not a results JSON of ``pde2gnn train``, or the
            files come from different experiments.
    """
    if not paths:
        raise OptionError("merge needs at least one results file")
    docs = [_read(Path(p), "merge") for p in paths]
    first = docs[0]
    keys = set().union(*(d["config"] for d in docs if isinstance(d.get("config"), dict)))
    configs = [_with_defaults(d.get("config"), keys, task_of(d)) for d in docs]
    for p, doc, config in zip(paths, docs, configs):
        for key in ("task", "model", "dataset", "split", "config"):
            mine, theirs = ((task_of(doc), task_of(first)) if key == "task" else
                            (config, configs[0]) if key == "config" else
                            (doc.get(key), first.get(key)))
            if mine != theirs:
                raise OptionError(f"merge: {p} has another {key} than {paths[0]} "
                                  f"({mine!r} vs {theirs!r}): not one experiment")
    task = task_of(first)
    if task not in TASKS:
        raise OptionError(f"merge: {paths[0]} names an unknown task '{task}'")
    runs: List[dict] = []
    seen = set()
    for doc in docs:
        for r in doc["runs"]:
            key = (r.get("split_index", 0), r.get("seed"))
            if key not in seen:
                seen.add(key)
                runs.append(r)
    runs.sort(key=lambda r: (r.get("split_index", 0), r.get("seed", 0)))
    if not runs:
        raise OptionError(f"merge: {', '.join(paths)} hold no runs")
    try:
        summary = TASKS[task].summarize(runs)
    except (KeyError, TypeError) as e:
        raise OptionError(f"merge: the runs are not {task} runs (missing {e})") from None
    return {**{k: v for k, v in first.items() if k != "runs"}, "task": task,
            "config": configs[0], **summary,
            "splits": sorted({r.get("split_index", 0) for r in runs}),
            "seeds": sorted({r.get("seed") for r in runs}), "merged_from": list(paths),
            "runs": runs}
