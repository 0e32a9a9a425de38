"""The command line as a user runs it: real subprocesses, exit statuses, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "ids_utils", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def assert_clean_failure(result, *fragments):
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_check_data_reports_the_bundled_files(merged_sample, original_fixture):
    result = run("check-data", merged_sample, original_fixture)
    assert result.returncode == 0, result.stderr
    assert "ciciot2023-merged, 16,364 rows (1,700 benign, 14,664 attack)" in result.stdout
    assert "ciciot2023-original, 100 rows" in result.stdout


def test_check_data_json(merged_sample):
    result = run("check-data", "--json", merged_sample)
    report = json.loads(result.stdout)[0]
    assert report["rows"] == 16_364 and report["release"] == "ciciot2023-merged"
    assert report["family_counts"]["Uploading"] == 1_064
    assert report["nan_per_feature"] == {} and report["inf_per_feature"] == {}
    assert report["duplicate_rows"] > 0


@pytest.mark.parametrize(
    "breakage, fragments",
    [
        ("missing", ["broken.csv", "missing column(s) 'IAT'"]),
        ("text", ["broken.csv", "column 'Rate'", "line 4", "non-numeric"]),
        ("empty", ["broken.csv", "empty"]),
        ("label", ["broken.csv", "column 'label_multiclass'", "line 3", "unknown label"]),
    ],
)
def test_check_data_broken_inputs(tmp_path, merged_sample, breakage, fragments):
    frame = pd.read_csv(merged_sample, nrows=10)
    path = tmp_path / "broken.csv"
    if breakage == "missing":
        frame.drop(columns=["IAT"]).to_csv(path, index=False)
    elif breakage == "text":
        frame.astype({"Rate": object}).assign(
            Rate=lambda f: f["Rate"].where(f.index != 2, "n/a?")
        ).to_csv(path, index=False)
    elif breakage == "empty":
        path.write_text("")
    else:
        frame.assign(
            label_multiclass=lambda f: f["label_multiclass"].where(f.index != 1, "Zzz")
        ).to_csv(path, index=False)
    assert_clean_failure(run("check-data", path), *fragments)


def test_check_data_reports_negative_counts_and_lengths(tmp_path, original_fixture):
    frame = pd.read_csv(original_fixture, nrows=10)
    frame.loc[3, "Rate"] = -5.0
    frame.loc[4, "Tot size"] = -1.0
    frame.loc[5, "Covariance"] = -2.0  # a covariance may be negative
    path = tmp_path / "negative.csv"
    frame.to_csv(path, index=False)
    result = run("check-data", path)
    assert result.returncode == 0, result.stderr
    assert "negative per feature: Rate 1, Tot size 1\n" in result.stdout


def test_check_data_mixed_releases(tmp_path, merged_sample, original_fixture):
    (tmp_path / "a.csv").write_bytes(merged_sample.read_bytes())
    (tmp_path / "b.csv").write_bytes(original_fixture.read_bytes())
    assert_clean_failure(run("check-data", tmp_path), "releases cannot be mixed")


def test_check_data_missing_file(tmp_path):
    assert_clean_failure(run("check-data", tmp_path / "nope.csv"), "nope.csv", "no such file")


def test_fetch_data_missing_mirror(tmp_path):
    assert_clean_failure(
        run("fetch-data", "--mirror", tmp_path / "none", "--dest", tmp_path),
        "mirror folder does not exist",
    )


def test_unknown_profile_is_an_argument_error():
    assert_clean_failure(run("pipeline", "--profile", "huge"), "invalid choice")


# --- score ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def detector_path(tmp_path_factory, merged_sample):
    """A detector trained briefly on the bundled merged sample (mechanics, not results)."""
    from ids_utils import datasets, detectors, preprocess, training

    flows = datasets.read_flows(merged_sample).sample(600, random_state=0)
    features = list(datasets.MERGED_FEATURES)
    scaler = preprocess.fit_scaler(flows, features)
    x, y = preprocess.scale(flows, scaler), flows["attack"].to_numpy("float32")
    model, _ = training.train_cnn_lstm(
        x[:500], y[:500], x[500:], y[500:], seed=0, epochs=1, verbose=0
    )
    path = tmp_path_factory.mktemp("model") / "detector.keras"
    return detectors.save_detector(model, path, features, scaler)


def test_score_prints_metrics_and_writes_scores(tmp_path, detector_path, merged_sample):
    output = tmp_path / "scores.csv"
    result = run("score", "--model", detector_path, "--input", merged_sample, "--output", output)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["n"] == 16_364 and 0.0 <= metrics["accuracy"] <= 1.0
    scores = pd.read_csv(output)
    assert len(scores) == 16_364
    assert list(scores.columns) == [
        "line",
        "status",
        "probability",
        "prediction",
        "reason",
        "family",
        "attack",
    ]
    assert scores["line"].tolist() == list(range(2, 16_364 + 2))
    assert (scores["status"] == "scored").all()
    assert ((scores["probability"] >= 0.5) == (scores["prediction"] == 1)).all()
    recomputed = (scores["prediction"] == scores["attack"]).mean()
    assert recomputed == pytest.approx(metrics["accuracy"])


def test_score_unlabelled_flows_prints_scores(tmp_path, detector_path, merged_sample):
    unlabelled = tmp_path / "unlabelled.csv"
    pd.read_csv(merged_sample, nrows=5).drop(columns=["label_multiclass", "label_binary"]).to_csv(
        unlabelled, index=False
    )
    result = run("score", "--model", detector_path, "--input", unlabelled)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "line,status,probability,prediction,reason"
    assert len(result.stdout.splitlines()) == 6


def test_score_names_missing_features(detector_path, original_fixture):
    assert_clean_failure(
        run("score", "--model", detector_path, "--input", original_fixture),
        "CICIoT2023_original_sample.csv",
        "Time_To_Live",
        "IGMP",
        "ciciot2023-original",
    )


def test_score_refuses_a_pickle(tmp_path, merged_sample):
    fake = tmp_path / "model.pkl"
    fake.write_bytes(b"\x80\x04\x95\x00")
    assert_clean_failure(
        run("score", "--model", fake, "--input", merged_sample), "not a Keras archive"
    )
