"""Trainings in worker processes: results in order, identical whatever the worker count."""

from __future__ import annotations

import numpy as np
import pytest

from ids_utils import workers


def _square(value):
    return value * value


def test_results_come_back_in_job_order():
    assert workers.run_jobs(_square, [{"value": v} for v in range(7)], workers=2) == [
        v * v for v in range(7)
    ]


def _started(name, parts=None, features=(), settings=None):
    import time

    return name, time.monotonic_ns()  # one clock for every process on Linux


def _job(name, rows, features, epochs):
    import pandas as pd

    return {
        "name": name,
        "parts": {"train": pd.DataFrame({"x": range(rows)})},
        "features": ["x"] * features,
        "settings": {"epochs": epochs},
    }


def test_a_job_size_is_flows_times_features_times_epochs():
    assert workers.job_size(_job("a", 10, 3, 4)) == 120
    assert workers.job_size({"name": "no parts"}) == 0
    assert workers.job_size({"parts": {"val": None}, "settings": {"epochs": 2}}) == 0
    assert workers.job_size({"parts": {"train": [1, 2]}, "features": ["f"], "settings": {}}) == 2


def test_the_largest_jobs_start_first_and_results_keep_job_order():
    jobs = [
        _job("small", 10, 2, 1),
        _job("large", 100, 2, 3),
        {"name": "unsized"},
        _job("medium", 50, 2, 2),
        {"name": "unsized too"},
    ]
    results = workers.run_jobs(_started, jobs, workers=1)  # one worker: one job at a time
    assert [name for name, _ in results] == ["small", "large", "unsized", "medium", "unsized too"]
    started = [name for name, _ in sorted(results, key=lambda r: r[1])]
    assert started == ["large", "medium", "small", "unsized", "unsized too"]


def test_workers_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        workers.run_jobs(_square, [{"value": 1}], workers=0)


def _train(seed, activation):
    from ids_utils.training import train_cnn_lstm

    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 10)).astype("float32")
    y = (x[:, 0] + x[:, 3] > 1).astype("float32")
    model, _ = train_cnn_lstm(
        x[:250],
        y[:250],
        x[250:],
        y[250:],
        seed=seed,
        epochs=2,
        verbose=0,
        lstm_activation=activation,
    )
    return [w.tobytes() for w in model.get_weights()]


def test_one_worker_and_two_workers_train_the_same_weights_bit_for_bit():
    jobs = [{"seed": 3, "activation": "relu"}, {"seed": 4, "activation": "tanh"}]
    serial = workers.run_jobs(_train, jobs, workers=1)
    parallel = workers.run_jobs(_train, jobs, workers=2)
    assert serial == parallel
    assert serial[0] != serial[1]


# The parallelism benchmark (four fresh TensorFlow processes) is checked on the ci run's
# parallelism.json, which the training chapter writes from it (tests/test_pipeline.py).


def _state():
    import os

    import tensorflow as tf

    threading = tf.config.threading
    return (
        threading.get_intra_op_parallelism_threads(),
        threading.get_inter_op_parallelism_threads(),
        os.environ["TF_ENABLE_ONEDNN_OPTS"],
    )


def test_run_with_threads_runs_in_a_fresh_process_with_its_threads_and_environment():
    onednn = {"TF_ENABLE_ONEDNN_OPTS": "1"}
    assert workers.run_with_threads(_state, [{}, {}], 2, env=onednn) == [(2, 2, "1")] * 2
    assert workers.run_with_threads(_state, [{}], threads=1) == [(1, 1, "0")]
    with pytest.raises(ValueError, match="at least 1"):
        workers.run_with_threads(_state, [{}], threads=0)
