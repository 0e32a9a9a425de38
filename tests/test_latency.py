"""Exported models agree with Keras; streaming mode survives malformed rows."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ids_utils import datasets, detectors, latency, preprocess, training


@pytest.fixture(scope="module")
def trained(tmp_path_factory, merged_sample):
    """A briefly trained detector and real scaled flows (mechanics, not results)."""
    flows = datasets.read_flows(merged_sample).sample(800, random_state=1)
    features = list(datasets.MERGED_FEATURES)
    scaler = preprocess.fit_scaler(flows.iloc[:600], features)
    x, y = preprocess.scale(flows, scaler), flows["attack"].to_numpy("float32")
    model, _ = training.train_cnn_lstm(
        x[:500], y[:500], x[500:600], y[500:600], seed=0, epochs=2, verbose=0
    )
    path = detectors.save_detector(
        model, tmp_path_factory.mktemp("m") / "detector.keras", features, scaler
    )
    return model, x[600:], path


def test_every_inference_path_agrees_with_keras(trained, tmp_path):
    model, x, _ = trained
    reference = model.predict(x, verbose=0).ravel()
    runners = latency.build_runners(model, threads=1, folder=tmp_path)
    assert set(runners) == set(latency.PATHS)
    for name, runner in runners.items():
        difference = latency.max_difference(runner, reference, x)
        assert difference <= latency.TOLERANCE, f"{name}: {difference}"


def test_single_calls_are_timed_after_a_warm_up_of_at_most_as_many_calls():
    seen = []
    x = np.arange(6, dtype="float32").reshape(3, 2)
    seconds = latency.time_single(lambda row: seen.append(float(row[0, 0])), x, calls=4)
    assert len(seconds) == 4 and (seconds >= 0).all()
    # Flows in turn: four warm-up calls, then the four timed ones.
    assert seen == [0.0, 2.0, 4.0, 0.0, 2.0, 4.0, 0.0, 2.0]
    seen.clear()
    latency.time_single(lambda row: seen.append(1), x, calls=60)
    assert len(seen) == 50 + 60


def test_throughput_is_measured_for_at_least_the_seconds_asked():
    import time

    calls = []
    start = time.perf_counter()
    rate = latency.time_batched(lambda batch: calls.append(len(batch)), np.ones((3, 2)), 8, 0.05)
    assert time.perf_counter() - start >= 0.05
    assert set(calls) == {8} and rate > 0


def test_max_difference_flags_nan():
    assert latency.max_difference(
        lambda x: np.full(len(x), np.nan), np.zeros(3), np.zeros((3, 2), "float32")
    ) == float("inf")


# The benchmark of every path is checked on the ci run's latency.json, which the latency
# chapter writes from it (tests/test_pipeline.py).


def test_stream_survives_malformed_rows(trained, merged_sample):
    _, _, path = trained
    raw = pd.read_csv(merged_sample, nrows=6)
    lines = raw.to_csv(index=False).splitlines()
    header, rows = lines[0], lines[1:]
    mixed = [
        header,
        rows[0],
        "1,2,3",
        rows[1],
        rows[2].replace(rows[2].split(",")[3], "fast", 1),
        rows[3],
        "",
        rows[4],
    ]
    result = subprocess.run(
        [sys.executable, "-m", "ids_utils", "score", "--model", str(path), "--stream"],
        input="\n".join(mixed) + "\n",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr  # some rows could not be scored
    records = [json.loads(line) for line in result.stdout.splitlines()]
    good = [r for r in records if "probability" in r]
    bad = [r for r in records if "error" in r]
    assert [r["line"] for r in good] == [2, 4, 6, 8]
    assert [r["line"] for r in bad] == [3, 5]
    assert "expected 41 fields" in bad[0]["error"] and bad[1]["column"] == "Rate"
    assert "non-numeric value 'fast'" in bad[1]["error"]
    assert all(r["family"] in datasets.MERGED_FAMILIES for r in good)
    summary = json.loads(result.stderr.strip().splitlines()[-1])["summary"]
    assert summary["flows"] == 4 and summary["invalid"] == 2 and summary["blank_lines"] == 1
    assert set(summary["latency_ms"]) == {"p50", "p90", "p99"}


def test_stream_header_without_features_fails_cleanly(trained):
    _, _, path = trained
    result = subprocess.run(
        [sys.executable, "-m", "ids_utils", "score", "--model", str(path), "--stream"],
        input="a,b,c\n1,2,3\n",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "header lacks 39 feature(s)" in result.stderr.strip().splitlines()[-1]


def test_the_latency_summary_compares_the_fastest_path_with_the_papers_figures():
    table = pd.DataFrame(
        {
            "model": ["CNN-LSTM as written", "CNN-LSTM stabilised", "CNN-LSTM as written"],
            "path": ["Keras predict", "ONNX Runtime (LSTM operator)", "LiteRT"],
            "threads": [1, 1, 2],
            "median_ms": [50.0, 0.05, 0.01],
            "flows_per_second": [100.0, 40_000.0, 80_000.0],
        }
    )
    stream = {
        "load_model": "m",
        "throughput": {
            "m": {
                "flows": 5000,
                "flows_per_second": 20_000.0,
                "end_to_end_flows_per_second": 15_000.0,
                "model_flows_per_second": 25_000.0,
            }
        },
        "under_load": [
            {"rate": 1000, "startup_seconds": 0.2, "latency_ms": {"p50": 2.0, "p99": 3.5}}
        ],
    }
    text = latency.latency_summary(table, stream, paper_ms=2.5, paper_rate=400.0)
    assert "takes 50.00 ms (20.0 times the paper's 2.5 ms)" in text
    # The fastest on one thread, not the two-thread row.
    assert "ONNX Runtime (LSTM operator) (CNN-LSTM stabilised), takes 50 µs" in text
    assert "50 times under the paper's figure" in text
    assert "80,000 flows per second, 200 times the paper's 400" in text
    assert "Fed 1,000 flows per second" in text
