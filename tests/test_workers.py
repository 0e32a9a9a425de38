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
