"""Shared fixtures: the real data files, and small generated files of each release."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ids_utils import datasets
from ids_utils.acquire import MIRROR_FILES

PROJECT = Path(__file__).resolve().parent.parent
MIRROR = PROJECT.parent / "shared" / "data"
DATA = PROJECT / "data"


def _data_file(relative_mirror_path: str) -> Path:
    """A bundled data file: from data/ when fetched, else from the mirror."""
    fetched = DATA / MIRROR_FILES[relative_mirror_path][0]
    if fetched.is_file():
        return fetched
    mirrored = MIRROR / relative_mirror_path
    if mirrored.is_file():
        return mirrored
    pytest.fail(f"{relative_mirror_path}: not in {DATA} nor {MIRROR}; run `make data`")


@pytest.fixture(scope="session")
def merged_sample() -> Path:
    return _data_file("ciciot2023/CICIoT2023_merged_sample.csv")


@pytest.fixture(scope="session")
def original_fixture() -> Path:
    return _data_file("ciciot2023/CICIoT2023_original_sample.csv")


@pytest.fixture(scope="session")
def kdd_test() -> Path:
    return _data_file("nsl-kdd/KDDTest+.txt")


@pytest.fixture(scope="session")
def original_rows(original_fixture) -> pd.DataFrame:
    """The 100 real original-release rows, as read by pandas (raw columns)."""
    return pd.read_csv(original_fixture)


def write_original_parts(
    folder: Path, rows: pd.DataFrame, n_files: int, rows_per_file: int, seed: int = 0
) -> list[Path]:
    """Write part files of the original release: real feature rows, labels drawn at random.

    The labels are assigned so every family occurs; this tests mechanics
    (streaming, stratification), not results.
    """
    rng = np.random.default_rng(seed)
    labels = list(datasets.FINE_LABEL_FAMILY)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n_files):
        part = rows.sample(rows_per_file, replace=True, random_state=seed + i).copy()
        benign = rng.random(rows_per_file) < 0.5
        part["label"] = np.where(
            benign, "BenignTraffic", rng.choice(labels[1:], size=rows_per_file)
        )
        part = part[[*datasets.ORIGINAL_FEATURES, "label"]]
        path = folder / f"part-{i:05d}-test-c000.csv"
        part.to_csv(path, index=False)
        paths.append(path)
    return paths


#: Built detectors kept between test processes: mutation testing starts one per mutant, and
#: building (TensorFlow import, ONNX export) costs about 10 s each time.
FIXTURE_CACHE = PROJECT / ".cache" / "test-fixtures"


def _detector_key(merged_sample: Path) -> str:
    """What the fixture detector is made of: the code that builds it, the data it scales, the
    Keras version."""
    import hashlib
    import importlib.metadata

    digest = hashlib.sha256(importlib.metadata.version("keras").encode())
    for module in ("models", "detectors", "preprocess", "runtimes", "datasets", "schema"):
        digest.update((PROJECT / "ids_utils" / f"{module}.py").read_bytes())
    digest.update(merged_sample.read_bytes())
    return digest.hexdigest()[:20]


def _build_detector(folder: Path, merged_sample: Path) -> None:
    import keras

    from ids_utils import detectors, models, preprocess

    flows = datasets.read_flows(merged_sample)
    features = list(datasets.MERGED_FEATURES)
    keras.utils.set_random_seed(0)
    model = models.build_cnn_lstm(len(features), lstm_activation="tanh")
    detectors.save_detector(
        model, folder / "detector.keras", features, preprocess.fit_scaler(flows, features)
    )
    detectors.onnx_graph(detectors.read_detector(folder / "detector.keras"))


@pytest.fixture(scope="session")
def untrained_detector(tmp_path_factory, merged_sample) -> Path:
    """A detector with an untrained (seeded) stabilised CNN-LSTM and a scaler fitted on
    the real merged sample, its ONNX graph already cached: scoring mechanics, not results.

    Built once per key in :data:`FIXTURE_CACHE`, then copied into this session's temporary
    folder, so no test can alter the kept copy."""
    import shutil
    import tempfile

    kept = FIXTURE_CACHE / f"detector-{_detector_key(merged_sample)}"
    if not kept.is_dir():
        FIXTURE_CACHE.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=FIXTURE_CACHE, prefix=".partial-"))
        _build_detector(partial, merged_sample)
        try:
            partial.rename(kept)
        except OSError:  # another process kept its copy first
            shutil.rmtree(partial)
    folder = tmp_path_factory.mktemp("detector")
    for path in kept.iterdir():
        shutil.copy2(path, folder / path.name)
    return folder / "detector.keras"


@pytest.fixture
def predictions_of():
    """Build a model's predictions of six fixed flows (two benign, four DDoS)."""
    return model_predictions


def model_predictions(model: str, predicted: list[int]) -> pd.DataFrame:
    """A model's predictions of six flows (two benign, four DDoS) of seed 1."""
    n = len(predicted)
    return pd.DataFrame(
        {
            "seed": 1,
            "source_file": "f.csv",
            "source_line": range(2, n + 2),
            "probability": predicted,
            "prediction": predicted,
            "attack": [0, 0, 1, 1, 1, 1],
            "family": ["Benign"] * 2 + ["DDoS"] * 4,
            "model": model,
        }
    )
