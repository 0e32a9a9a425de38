"""Detector files: validation at load, the content-keyed ONNX cache, atomic saving."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

from ids_utils import detectors
from ids_utils.detectors import DETECTOR_ENTRY, DetectorFileError, read_detector


def rewrite_entry(source, dest, change):
    """Copy a detector, passing its ``ids_detector.json`` through ``change`` (dict or bytes)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(dest, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == DETECTOR_ENTRY:
                data = change(json.loads(data))
                data = data if isinstance(data, bytes) else json.dumps(data).encode()
            new.writestr(item, data)
    return dest


def edited(entry, **changes):
    entry = json.loads(json.dumps(entry))
    for dotted, value in changes.items():
        target, *path = entry, *dotted.split("__")
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return entry


CASES = {
    "no scaler": ({"scaler": KeyError}, "no scaler"),
    "no threshold": ({"threshold": KeyError}, "threshold must be a number in (0, 1)"),
    "text threshold": ({"threshold": "high"}, "threshold must be a number in (0, 1)"),
    "threshold of 1.5": ({"threshold": 1.5}, "threshold must be a number in (0, 1)"),
    "threshold of 0": ({"threshold": 0}, "threshold must be a number in (0, 1)"),
    "boolean threshold": ({"threshold": True}, "threshold must be a number in (0, 1)"),
    "format 99": ({"format_version": 99}, "detector format 99"),
    "NaN mean": ({"scaler__mean": [float("nan")] * 39}, "mean must be 39 finite numbers"),
    "short scale": ({"scaler__scale": [1.0] * 38}, "scale must be 39 finite numbers"),
    "zero scale": ({"scaler__scale": [0.0] + [1.0] * 38}, "scale must be positive"),
    "text mean": ({"scaler__mean": ["0"] * 39}, "mean must be 39 finite numbers"),
    "no features": ({"features": []}, "non-empty list"),
    "metadata list": ({"metadata": [1]}, "'metadata' must be a JSON object"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_invalid_entry_is_refused_naming_the_file(tmp_path, untrained_detector, case):
    changes, fragment = CASES[case]
    path = rewrite_entry(
        untrained_detector, tmp_path / "bad.keras", lambda entry: edited(entry, **changes)
    )
    with pytest.raises(DetectorFileError) as info:
        read_detector(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {DETECTOR_ENTRY}: ") and fragment in message


def test_features_must_be_unique_known_and_in_the_scalers_order(tmp_path, untrained_detector):
    def check(change, fragment):
        path = rewrite_entry(untrained_detector, tmp_path / "bad.keras", change)
        with pytest.raises(DetectorFileError, match=fragment):
            read_detector(path)

    def twice(entry):
        entry["features"][1] = entry["features"][0]
        entry["scaler"]["features"] = entry["features"]
        return entry

    def unknown(entry):
        entry["features"][0] = "Colour"
        entry["scaler"]["features"] = entry["features"]
        return entry

    def swapped(entry):
        entry["scaler"]["features"][:2] = entry["scaler"]["features"][1::-1]
        return entry

    check(twice, "listed twice")
    check(unknown, r"not those of one CICIoT2023 release \(unknown: Colour\)")
    check(swapped, "scaler's features differ from the model's")


def test_broken_json_and_damaged_archives_name_the_file(tmp_path, untrained_detector):
    broken = rewrite_entry(untrained_detector, tmp_path / "json.keras", lambda e: b"{not json")
    with pytest.raises(DetectorFileError, match=f"^{broken}: {DETECTOR_ENTRY} is not valid JSON"):
        read_detector(broken)
    data = bytearray(untrained_detector.read_bytes())
    with zipfile.ZipFile(untrained_detector) as archive:
        info = archive.getinfo("model.weights.h5")
    data[info.header_offset + 30 + len(info.filename) + 100] ^= 0xFF  # inside the weights
    flipped = tmp_path / "flipped.keras"
    flipped.write_bytes(bytes(data))
    with pytest.raises(DetectorFileError, match=f"^{flipped}: damaged archive"):
        read_detector(flipped)
    with pytest.raises(DetectorFileError, match="is a folder"):
        read_detector(tmp_path)


def test_a_valid_detector_reads_without_tensorflow(untrained_detector):
    import subprocess
    import sys

    code = (
        "import sys; from ids_utils.detectors import read_detector; "
        f"s = read_detector({str(untrained_detector)!r}); "
        "print(len(s.features), 0 < s.threshold < 1, 'tensorflow' in sys.modules, "
        "'keras' in sys.modules, 'pandas' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["39", "True", "False", "False", "False"], result.stderr


def test_the_onnx_cache_follows_the_content_not_the_date(tmp_path, untrained_detector):
    import keras

    from ids_utils import models

    spec = read_detector(untrained_detector)
    keras.utils.set_random_seed(1)
    other_model = models.build_cnn_lstm(39, lstm_activation="tanh")
    other = detectors.save_detector(
        other_model, tmp_path / "other.keras", list(spec.features), spec.scaler
    )
    target = tmp_path / "live" / "detector.keras"
    target.parent.mkdir()
    target.write_bytes(untrained_detector.read_bytes())
    first = detectors.onnx_graph(read_detector(target))
    target.write_bytes(other.read_bytes())
    os.utime(target, (1_000_000, 1_000_000))  # older than the cached graph
    second = detectors.onnx_graph(read_detector(target))
    assert first != second and first.parent == second.parent == target.parent
    assert read_detector(target).sha256[:16] in second.name


def test_a_read_only_model_folder_caches_in_the_user_cache(
    tmp_path, untrained_detector, monkeypatch
):
    folder = tmp_path / "readonly"
    folder.mkdir()
    path = folder / "detector.keras"
    path.write_bytes(untrained_detector.read_bytes())
    monkeypatch.setattr(detectors, "cache_folder", lambda: tmp_path / "cache")
    real_atomic_write = detectors.atomic_write

    def refuse_model_folder(target, mode="w"):
        if target.parent == folder:
            raise PermissionError(13, "Permission denied", str(target))
        return real_atomic_write(target, mode)

    monkeypatch.setattr(detectors, "atomic_write", refuse_model_folder)
    graph = detectors.onnx_graph(read_detector(path))
    assert graph.parent == tmp_path / "cache" and graph.is_file()
    assert not list(folder.glob("*.onnx"))


def test_save_is_atomic_and_round_trips(tmp_path, untrained_detector):
    spec = read_detector(untrained_detector)
    loaded = detectors.load_detector(untrained_detector)
    path = detectors.save_detector(
        loaded.model, tmp_path / "again.keras", list(spec.features), spec.scaler, 0.3, {"seed": 7}
    )
    again = read_detector(path)
    assert again.threshold == 0.3 and again.metadata == {"seed": 7}
    np.testing.assert_array_equal(again.mean, spec.mean)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.keras"]  # no partial left
    with pytest.raises(DetectorFileError, match="threshold"):
        detectors.save_detector(
            loaded.model, tmp_path / "bad.keras", list(spec.features), spec.scaler, 1.5
        )
    assert not (tmp_path / "bad.keras").exists()
