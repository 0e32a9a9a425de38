"""Deterministic training and the speed benchmark's bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

from ids_utils import models, training


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 39)).astype("float32")
    y = (x[:, 0] + 0.3 * rng.standard_normal(256) > 1.0).astype("float32")
    return x[:200], y[:200], x[200:], y[200:]


def _train(data, seed):
    x, y, xv, yv = data
    return training.train_cnn_lstm(x, y, xv, yv, seed=seed, epochs=2, verbose=0)


def test_same_seed_same_weights_bit_for_bit(data):
    (first, h1), (second, h2) = _train(data, 7), _train(data, 7)
    for a, b in zip(first.get_weights(), second.get_weights()):
        assert np.array_equal(a, b)
    assert h1.drop(columns="seconds").equals(h2.drop(columns="seconds"))


def test_other_seed_other_weights(data):
    first, _ = _train(data, 7)
    other, _ = _train(data, 8)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])


def test_history_has_one_row_per_epoch(data):
    _, history = _train(data, 1)
    assert history["epoch"].tolist() == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(history.columns)


def test_bad_training_data_is_named(data):
    x, y, xv, yv = data
    bad = x.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="training data: x holds NaN"):
        training.train_cnn_lstm(bad, y, xv, yv, seed=0, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="validation data"):
        training.train_cnn_lstm(x, y, xv, yv[:-1], seed=0, epochs=1, verbose=0)


def test_speed_benchmark_reports_each_setting(data):
    x, y, _, _ = data
    configs = {"plain": {"steps_per_execution": 1}}
    result = training.benchmark_training_speed(
        x, y, n_rows=320, epochs=1, batch_size=32, configs=configs
    )
    row = result.iloc[0]
    assert row["setting"] == "plain" and row["rows"] == 320
    assert row["flows_per_second"] == pytest.approx(320 / row["seconds_per_epoch"])
    assert row["gflops_per_second"] == pytest.approx(
        row["flows_per_second"] * 3 * models.forward_flops_per_flow(x.shape[1]) / 1e9
    )


def test_small_runs_keep_the_lstm_loops_rolled():
    from ids_utils.training import FAST_SETTINGS, UNROLL_MIN_FLOW_EPOCHS, speed_settings

    assert speed_settings(UNROLL_MIN_FLOW_EPOCHS // 20, 20) == FAST_SETTINGS
    small = speed_settings(UNROLL_MIN_FLOW_EPOCHS // 20 - 1, 20)
    assert small == {**FAST_SETTINGS, "unroll": False}
