"""Where a run keeps its files, and how they are written (deterministically)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .files import atomic_write, dumps

RUN_MARKER = ".ids-run"


class MissingArtifactError(FileNotFoundError):
    """An artefact an earlier stage writes is missing: that stage has not run.

    In a notebook it shows as one line saying which command produces it,
    without a traceback (IPython calls ``_render_traceback_``).
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def _missing(path: Path) -> MissingArtifactError:
    run_dir = next((p.parent for p in path.parents if p.name == "artifacts"), path.parent)
    return MissingArtifactError(
        f"{path}: not found; the earlier stages of this run have not run. Produce them with "
        f"`python -m ids_utils pipeline --profile {run_dir.name}` (or `make book-ci` for the "
        "ci run the committed notebooks read)"
    )


def artifacts_dir(run_dir: str | Path) -> Path:
    """The run's ``artifacts/`` folder, created if needed; marks the folder as a run."""
    path = Path(run_dir) / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    (Path(run_dir) / RUN_MARKER).touch()
    return path


def seed_dir(run_dir: str | Path, seed: int) -> Path:
    """The folder of one seed's split, scaler, model and history: ``artifacts/seed-<seed>``."""
    path = artifacts_dir(run_dir) / f"seed-{seed}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def model_dir(run_dir: str | Path, seed: int, model: str) -> Path:
    """The folder of one CNN-LSTM trained on one seed's split (its detector and history):
    ``artifacts/seed-<seed>/<as-written|stabilised>``."""
    from .models import model_slug

    path = seed_dir(run_dir, seed) / model_slug(model)
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: str | Path, data) -> Path:
    """Write strict JSON atomically, with sorted keys and a trailing newline (stable diffs).

    NaN and infinite values are written as ``null`` (:func:`ids_utils.files.strict`):
    a single-seed interval has no bounds, and strict JSON readers refuse ``NaN``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as out:
        out.write(dumps(data, indent=2, sort_keys=True, default=_plain) + "\n")
    return path


def read_json(path: str | Path):
    """Read a JSON artifact, naming the file if it is missing."""
    path = Path(path)
    if not path.is_file():
        raise _missing(path)
    return json.loads(path.read_text())


def write_parquet(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a frame to parquet; the same frame always gives the same bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as out:
        frame.to_parquet(out, index=False, engine="pyarrow", compression="zstd")
    return path


def read_parquet(path: str | Path) -> pd.DataFrame:
    """Read a parquet artifact, naming the file if it is missing."""
    path = Path(path)
    if not path.is_file():
        raise _missing(path)
    return pd.read_parquet(path, engine="pyarrow")


def _plain(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (np.ndarray, pd.Series)):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def load_scaled_split(run_dir: str | Path, seed: int, part: str):
    """One part of one seed's split, scaled with that seed's training-only scaler.

    Returns
    -------
    x : numpy.ndarray of float32
    y : numpy.ndarray of float32 (1 for an attack)
    frame : pandas.DataFrame
        The unscaled rows, with labels and source columns.
    """
    from .preprocess import scale

    if part not in ("train", "val", "test"):
        raise ValueError(f"part must be train, val or test, got {part!r}")
    folder = Path(run_dir) / "artifacts" / f"seed-{seed}"
    frame = read_parquet(folder / f"{part}.parquet")
    scaler = read_json(folder / "scaler.json")
    return scale(frame, scaler), frame["attack"].to_numpy(dtype="float32"), frame


#: The parts of each seed's split, as the preprocessing chapter writes them.
SPLIT_PARTS = ("train", "val", "test")


def load_parts(run_dir: str | Path, seeds) -> dict[int, dict[str, pd.DataFrame]]:
    """Each seed's unscaled split: seed -> ``train``, ``val``, ``test`` frames."""
    return {
        seed: {
            name: read_parquet(seed_dir(run_dir, seed) / f"{name}.parquet") for name in SPLIT_PARTS
        }
        for seed in seeds
    }
