"""Detector files: saving, validating, loading, and the ONNX graph that scoring runs.

A *detector* is a native Keras archive (``.keras``, a zip file) with one extra
entry, ``ids_detector.json``: the feature list, the scaler's parameters and the
decision threshold.  Scoring a CSV needs that file and nothing else.

Reading and validating a detector (:func:`read_detector`) needs neither
TensorFlow nor pandas, so the scorer starts fast; TensorFlow is imported only
to load the Keras model (:func:`load_detector`) or to export an ONNX graph that
is not cached yet (:func:`onnx_graph`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .files import atomic_write
from .schema import RELEASES

DETECTOR_ENTRY = "ids_detector.json"
FORMAT_VERSION = 1

#: Bump when :func:`ids_utils.runtimes.export_onnx_native` changes the graph it writes,
#: so that cached graphs of the old form are not reused.
ONNX_GRAPH_VERSION = 1


class DetectorFileError(ValueError):
    """A file that is not a valid detector saved by :func:`save_detector`."""


@dataclass(frozen=True)
class DetectorSpec:
    """What scoring needs from a detector file, validated, without its Keras model.

    Attributes
    ----------
    path : Path
    features : tuple of str
        The model's inputs, in order.
    mean, scale : numpy.ndarray of float64
        The training-only scaler, one value per feature (scales positive).
    threshold : float
        Decision threshold on the attack probability, in (0, 1).
    metadata : dict
    sha256 : str
        Hash of the whole file: the key of its cached ONNX graph.
    """

    path: Path
    features: tuple[str, ...]
    mean: np.ndarray = field(repr=False)
    scale: np.ndarray = field(repr=False)
    threshold: float
    metadata: dict
    sha256: str

    @property
    def scaler(self) -> dict:
        """The scaler in the form :func:`ids_utils.preprocess.scale` takes."""
        return {
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
        }


@dataclass
class Detector:
    """A loaded detector: the Keras model and what scoring needs."""

    model: object
    features: list[str]
    scaler: dict
    threshold: float
    metadata: dict

    def predict_proba(self, frame) -> np.ndarray:
        """Attack probability per flow of a standard-layout frame (raw features)."""
        from .preprocess import scale

        x = scale(frame, self.scaler)
        return self.model.predict(x, batch_size=4096, verbose=0).ravel()


def save_detector(
    model,
    path: str | Path,
    features: list[str],
    scaler: dict,
    threshold: float = 0.5,
    metadata: dict | None = None,
) -> Path:
    """Save a model as a ``.keras`` archive that also carries features, scaler and threshold.

    The archive is written beside ``path`` and renamed into place, so a reader
    never sees a half-written detector.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"{path}: a detector file must end in .keras")
    if list(scaler["features"]) != list(features):
        raise ValueError("the scaler was fitted on other features than the model's")
    entry = {
        "format_version": FORMAT_VERSION,
        "features": list(features),
        "scaler": scaler,
        "threshold": float(threshold),
        "metadata": metadata or {},
    }
    _validate_entry(entry, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial.keras")
    try:
        model.save(partial)
        with zipfile.ZipFile(partial, "a") as archive:
            archive.writestr(
                DETECTOR_ENTRY, json.dumps(entry, indent=2, sort_keys=True, allow_nan=False)
            )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def read_detector(path: str | Path) -> DetectorSpec:
    """Read and validate a detector file without loading its Keras model.

    Anything that is not a Keras archive written by :func:`save_detector` (a
    pickle, an HDF5 file, a zip of something else, a damaged archive) is
    refused, and nothing in it is executed.

    Raises
    ------
    DetectorFileError
        One line naming the file and what is wrong with it.
    """
    path = Path(path)
    if path.is_dir():
        raise DetectorFileError(f"{path}: is a folder, not a model file")
    if not path.is_file():
        raise DetectorFileError(f"{path}: no such model file")
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise DetectorFileError(f"{path}: cannot be read ({exc.strerror})") from None
    if not zipfile.is_zipfile(path):
        raise DetectorFileError(
            f"{path}: not a Keras archive (.keras zip file); pickles "
            "and other formats are refused and never loaded"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise DetectorFileError(
                    f"{path}: a zip file but not a Keras archive (no config.json)"
                )
            if DETECTOR_ENTRY not in names:
                raise DetectorFileError(
                    f"{path}: a Keras archive without {DETECTOR_ENTRY}; "
                    "save models with ids_utils.detectors.save_detector"
                )
            damaged = archive.testzip()
            if damaged is not None:
                raise DetectorFileError(
                    f"{path}: damaged archive (entry {damaged} fails its checksum)"
                )
            raw = archive.read(DETECTOR_ENTRY)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise DetectorFileError(f"{path}: damaged archive ({exc})") from None
    try:
        entry = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DetectorFileError(f"{path}: {DETECTOR_ENTRY} is not valid JSON ({exc})") from None
    features, mean, scale, threshold = _validate_entry(entry, path)
    return DetectorSpec(
        path=path,
        features=features,
        mean=mean,
        scale=scale,
        threshold=threshold,
        metadata=entry.get("metadata") or {},
        sha256=hashlib.sha256(content).hexdigest(),
    )


def _validate_entry(entry, path: Path):
    """(features, mean, scale, threshold) of a detector entry, or DetectorFileError."""

    def refuse(problem):
        raise DetectorFileError(f"{path}: {DETECTOR_ENTRY}: {problem}")

    if not isinstance(entry, dict):
        refuse("not a JSON object")
    if entry.get("format_version") != FORMAT_VERSION:
        refuse(
            f"detector format {entry.get('format_version')!r} is not the supported {FORMAT_VERSION}"
        )
    features = entry.get("features")
    if (
        not isinstance(features, list)
        or not features
        or not all(isinstance(f, str) for f in features)
    ):
        refuse("'features' must be a non-empty list of column names")
    repeated = sorted({f for f in features if features.count(f) > 1})
    if repeated:
        refuse(f"feature(s) listed twice: {', '.join(repeated)}")
    if not any(set(features) <= set(release.features) for release in RELEASES):
        unknown = [f for f in features if not any(f in release.features for release in RELEASES)]
        refuse(
            "the features are not those of one CICIoT2023 release"
            + (f" (unknown: {', '.join(unknown[:5])})" if unknown else "")
        )
    scaler = entry.get("scaler")
    if not isinstance(scaler, dict):
        refuse("no scaler")
    if scaler.get("features") != features:
        refuse("the scaler's features differ from the model's (names or order)")
    arrays = []
    for name in ("mean", "scale"):
        values = scaler.get(name)
        if (
            not isinstance(values, list)
            or len(values) != len(features)
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in values
            )
        ):
            refuse(f"the scaler's {name} must be {len(features)} finite numbers")
        arrays.append(np.asarray(values, dtype="float64"))
    mean, scale = arrays
    if (scale <= 0).any():
        refuse(
            f"the scaler's scale must be positive (feature "
            f"{features[int(np.flatnonzero(scale <= 0)[0])]!r})"
        )
    threshold = entry.get("threshold")
    if (
        not isinstance(threshold, (int, float))
        or isinstance(threshold, bool)
        or not 0 < threshold < 1
    ):
        refuse(f"the threshold must be a number in (0, 1), got {threshold!r}")
    metadata = entry.get("metadata", {})
    if not isinstance(metadata, dict):
        refuse("'metadata' must be a JSON object")
    return tuple(features), mean, scale, float(threshold)


def load_detector(path: str | Path) -> Detector:
    """Validate a detector (:func:`read_detector`), then load its model in Keras safe mode.

    Raises
    ------
    DetectorFileError
        With the file named and what is wrong with it.
    """
    spec = read_detector(path)
    import keras

    try:
        model = keras.models.load_model(spec.path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad archive
        raise DetectorFileError(
            f"{spec.path}: Keras cannot load the model "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
        ) from None
    n_inputs = model.input_shape[-1]
    if n_inputs != len(spec.features):
        raise DetectorFileError(
            f"{spec.path}: the model takes {n_inputs} inputs but the "
            f"detector lists {len(spec.features)} features"
        )
    return Detector(
        model=model,
        features=list(spec.features),
        scaler=spec.scaler,
        threshold=spec.threshold,
        metadata=spec.metadata,
    )


def cache_folder() -> Path:
    """Where ONNX graphs go when a detector's own folder is not writable."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("cnn-lstm-iot-ids"))


def onnx_graph(spec: DetectorSpec) -> Path:
    """The detector's ONNX graph (ONNX's LSTM operator), exported once and cached.

    The cache is keyed by the detector file's content (SHA-256) and the graph
    version, so replacing a ``.keras`` file, whatever its date, gives a new
    graph.  It lives beside the detector (``<name>.<hash>.onnx``), or in the
    user cache folder when that folder is read-only; it is written atomically.
    TensorFlow is imported only when no cached graph exists.
    """
    name = f"{spec.path.stem}.{spec.sha256[:16]}.v{ONNX_GRAPH_VERSION}.onnx"
    candidates = [spec.path.parent / name, cache_folder() / name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    from .runtimes import export_onnx_native

    model = load_detector(spec.path).model
    for candidate in candidates:
        try:
            candidate.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(candidate, "wb") as stream:
                stream.write(export_onnx_native(model))
            return candidate
        except OSError:
            continue
    raise DetectorFileError(
        f"{spec.path}: cannot write its ONNX graph beside it nor in {candidates[-1].parent}"
    )
