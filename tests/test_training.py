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


def test_a_run_whose_loss_spikes_stops_after_that_epoch_only_when_asked():
    # Large inputs and a large step make the as-written model's first epoch loss explode.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 10)) * 30
    y = (rng.random(128) < 0.5).astype("int64")

    def losses(stop):
        _, history = training.train_cnn_lstm(
            x,
            y,
            x[:32],
            y[:32],
            seed=1,
            epochs=3,
            learning_rate=0.5,
            verbose=0,
            stop_on_divergence=stop,
        )
        return history["loss"].tolist()

    full, stopped = losses(False), losses(True)
    assert len(full) == 3 and stopped == full[:1]
    assert stopped[0] > 10 * np.log(2)


def test_a_sound_run_is_never_stopped(data):
    x, y, xv, yv = data
    _, history = training.train_cnn_lstm(
        x, y, xv, yv, seed=3, epochs=2, verbose=0, lstm_activation="tanh", stop_on_divergence=True
    )
    assert history["epoch"].tolist() == [1, 2]


@pytest.mark.parametrize(
    "loss, stops", [(6.9, False), (6.94, True), (float("nan"), True), (float("inf"), True)]
)
def test_the_stop_follows_the_guards_spike_line(loss, stops):
    class Model:
        stop_training = False

    callback = training._StopOnLossSpike()
    callback.set_model(Model())
    callback.on_epoch_end(0, {"loss": loss})
    assert callback.model.stop_training is stops


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


def test_speed_configs_are_taken_by_name_in_order():
    names = list(training.SPEED_CONFIGS)[::-1]
    assert list(training.speed_configs(names)) == names
    assert training.speed_configs(names[:1]) == {names[0]: training.SPEED_CONFIGS[names[0]]}
    with pytest.raises(ValueError, match=r"unknown speed settings \['warp'\]; choose from"):
        training.speed_configs(["Keras defaults", "warp"])
    with pytest.raises(ValueError, match="no speed setting given; choose from"):
        training.speed_configs([])


def test_small_runs_keep_the_lstm_loops_rolled():
    from ids_utils.training import FAST_SETTINGS, UNROLL_MIN_FLOW_EPOCHS, speed_settings

    assert speed_settings(UNROLL_MIN_FLOW_EPOCHS // 20, 20) == FAST_SETTINGS
    small = speed_settings(UNROLL_MIN_FLOW_EPOCHS // 20 - 1, 20)
    assert small == {**FAST_SETTINGS, "unroll": False}
