"""The divergence guard and the step-by-step diagnostics of training."""

from __future__ import annotations

import numpy as np
import pytest

from ids_utils import diagnostics

STABLE_LOSS = [0.45, 0.21, 0.15, 0.12, 0.11]


@pytest.fixture
def spread_probabilities():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.uniform(0.0, 0.2, 90), rng.uniform(0.7, 1.0, 10)])


def test_a_stable_run_passes(spread_probabilities):
    check = diagnostics.divergence_check(STABLE_LOSS, spread_probabilities)
    assert check == {
        "diverged": False,
        "reasons": [],
        "max_train_loss": 0.45,
        "val_probability_std": pytest.approx(spread_probabilities.std()),
    }


def test_a_loss_spike_is_flagged(spread_probabilities):
    # The as-written model on CICIoT2023: epoch-1 loss ~17.6, then an ordinary-looking decline.
    check = diagnostics.divergence_check([17.6, 0.9, 0.4, 0.3], spread_probabilities)
    assert check["diverged"]
    assert check["reasons"] == ["training loss 17.6 at epoch 1, above 10 x ln 2"]


def test_the_spike_threshold_is_ten_uninformed_losses(spread_probabilities):
    limit = 10 * np.log(2)
    assert not diagnostics.divergence_check([limit - 1e-6], spread_probabilities)["diverged"]
    assert diagnostics.divergence_check([limit + 1e-6], spread_probabilities)["diverged"]


@pytest.mark.parametrize("loss", [[0.5, np.nan], [0.5, np.inf]])
def test_a_non_finite_loss_is_flagged(loss, spread_probabilities):
    check = diagnostics.divergence_check(loss, spread_probabilities)
    assert check["diverged"] and check["reasons"] == ["the training loss is not finite"]


def test_a_constant_predictor_is_flagged():
    check = diagnostics.divergence_check(STABLE_LOSS, np.full(100, 0.1))
    assert check["diverged"]
    assert check["reasons"][0].startswith("near-constant validation output")
    assert check["val_probability_std"] == pytest.approx(0.0, abs=1e-12)


def test_a_predictor_of_one_class_is_flagged():
    probabilities = np.linspace(0.05, 0.45, 100)  # spread out, but never an attack
    check = diagnostics.divergence_check(STABLE_LOSS, probabilities)
    assert check["reasons"] == ["one class predicted for every validation flow"]
    # ... and judged at the threshold given.
    assert not diagnostics.divergence_check(STABLE_LOSS, probabilities, 0.3)["diverged"]


def test_non_finite_outputs_are_flagged():
    probabilities = np.r_[np.linspace(0, 1, 99), np.nan]
    check = diagnostics.divergence_check(STABLE_LOSS, probabilities)
    assert check["reasons"] == ["validation outputs are not finite"]


def test_empty_inputs_are_refused():
    with pytest.raises(ValueError, match="at least one"):
        diagnostics.divergence_check([], [0.5])


def test_diagnostics_record_each_step_and_every_position():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 12)).astype("float32")
    y = (x[:, 0] > 1).astype("float32")
    result = diagnostics.training_diagnostics(
        x, y, seed=1, lstm_activation="relu", steps=6, probe_every=3, probe_rows=50
    )
    steps, hidden, dead = result["steps"], result["hidden"], result["dead"]
    assert steps["step"].tolist() == [1, 2, 3, 4, 5, 6]
    assert {"loss", "grad_norm", "grad_norm_lstm_64", "grad_norm_lstm_32"} <= set(steps)
    assert np.isfinite(steps["loss"]).all() and (steps["grad_norm"] > 0).all()
    # The global norm is the root of the summed squares of the layers' norms.
    layers = steps.filter(like="grad_norm_")
    assert np.allclose(np.sqrt((layers**2).sum(axis=1)), steps["grad_norm"], rtol=1e-6)
    assert sorted(hidden["step"].unique()) == [0, 3, 6]
    assert hidden.groupby(["step", "layer"]).size().eq(12).all()
    assert set(dead["layer"]) == {"conv", "lstm_64", "lstm_32", "dense_16"}
    assert dead["dead_share"].between(0, 1).all()


def test_both_cnn_lstms_are_diagnosed_in_workers_each_with_its_own_rate():
    from ids_utils.models import CNN_LSTMS

    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 8)).astype("float32")
    y = (x[:, 0] > 1).astype("float32")
    rates = dict(zip(CNN_LSTMS, (1e-3, 0.5)))
    result = diagnostics.diagnose_cnn_lstms(
        x, y, 1, 16, rates, n_workers=2, steps=4, probe_every=2, probe_rows=20
    )
    assert list(result) == list(CNN_LSTMS)
    for diagnosis in result.values():
        assert diagnosis["steps"]["step"].tolist() == [1, 2, 3, 4]
        assert sorted(diagnosis["hidden"]["step"].unique()) == [0, 2, 4]
    # The rates reach their models: at 0.5 the stabilised model's steps differ from 1e-3's.
    again = diagnostics.diagnose_cnn_lstms(
        x,
        y,
        1,
        16,
        dict.fromkeys(CNN_LSTMS, 1e-3),
        n_workers=1,
        steps=4,
        probe_every=2,
        probe_rows=20,
    )
    first, second = list(CNN_LSTMS)
    assert again[first]["steps"].equals(result[first]["steps"])  # one worker or two: the same
    assert not again[second]["steps"]["loss"].equals(result[second]["steps"]["loss"])
    with pytest.raises(ValueError, match="a learning rate is needed for each"):
        diagnostics.diagnose_cnn_lstms(x, y, 1, 16, {first: 1e-3}, n_workers=1)


def test_the_twin_lstm_reproduces_the_models_last_state():
    """The probe's full-sequence copy of lstm_32 ends where the model's lstm_32 does."""
    import keras

    from ids_utils.models import build_cnn_lstm

    model = build_cnn_lstm(12, lstm_activation="tanh")
    x = np.random.default_rng(2).standard_normal((20, 12)).astype("float32")
    twin = keras.layers.LSTM(32, activation="tanh", return_sequences=True)
    hidden, _ = diagnostics._probe(model, twin, x)
    sequence = model.get_layer("lstm_64")(
        model.get_layer("conv")(model.get_layer("as_sequence")(x))
    )
    last = np.asarray(model.get_layer("lstm_32")(sequence))
    assert np.allclose(np.asarray(twin(sequence))[:, -1, :], last, atol=1e-6)
    final = [h for h in hidden if h["layer"] == "lstm_32" and h["position"] == 12][0]
    assert final["max_abs"] == pytest.approx(np.abs(last).max(), rel=1e-6)


def _hidden(values, layer="lstm_64", step=10):
    return __import__("pandas").DataFrame(
        {"step": step, "layer": layer, "position": range(1, len(values) + 1), "max_abs": values}
    )


def test_growth_per_position_is_the_geometric_rate():
    import pandas as pd

    growing = _hidden([1.0 * 1.31**k for k in range(40)])
    early = _hidden([5.0] * 40, step=0)
    assert diagnostics.growth_per_position(pd.concat([early, growing])) == pytest.approx(1.31)
    assert diagnostics.growth_per_position(_hidden([2.0] * 5)) == pytest.approx(1.0)
    assert np.isnan(diagnostics.growth_per_position(_hidden([0.0, 1.0])))


def test_summary_table_and_its_sentence():
    import pandas as pd

    steps = pd.DataFrame(
        {"step": [1, 2, 3], "loss": [0.7, 40.0, 2.0], "grad_norm": [1.0, 8e6, 3.0]}
    )
    hidden = pd.concat([_hidden([1.0, 2.0, 4.0]), _hidden([1.0, 1.0, 1.0], "lstm_32")])
    dead = pd.DataFrame(
        {"step": [0, 10], "layer": ["dense_16", "dense_16"], "dead_share": [0.0, 0.25]}
    )
    table = diagnostics.summary_table({"m": {"steps": steps, "hidden": hidden, "dead": dead}})
    row = table.loc["m"]
    assert row["largest batch loss"] == 40.0 and row["largest gradient norm"] == 8e6
    assert row["growth per position lstm_64"] == pytest.approx(2.0)
    assert row["largest |h_t| lstm_64"] == 4.0 and row["dead units dense_16"] == 0.25
    text = diagnostics.describe(table)
    assert text.startswith("m: over 3 steps the largest batch loss is 40")
    assert "factor of 2 per sequence position" in text and "25% of the dense_16" in text


def test_the_guard_at_its_exact_limits(spread_probabilities, monkeypatch):
    at_limit = diagnostics.LOSS_SPIKE_FACTOR * diagnostics.UNINFORMED_LOSS
    assert not diagnostics.divergence_check([at_limit], spread_probabilities)["diverged"]
    spike = diagnostics.divergence_check([0.5, 0.4, 9.25, 0.3], spread_probabilities)
    assert spike["reasons"] == ["training loss 9.25 at epoch 3, above 10 x ln 2"]
    assert spike["max_train_loss"] == 9.25
    # A standard deviation of exactly the limit is not near-constant.
    limit = diagnostics.CONSTANT_OUTPUT_STD
    two_values = np.r_[np.full(50, 0.5 - limit), np.full(50, 0.5 + limit)]
    monkeypatch.setattr(diagnostics, "CONSTANT_OUTPUT_STD", float(two_values.std()))
    at_std = diagnostics.divergence_check(STABLE_LOSS, two_values)
    assert not any(r.startswith("near-constant") for r in at_std["reasons"])


@pytest.mark.filterwarnings("error")
def test_nothing_finite_gives_no_numbers_and_no_warnings():
    check = diagnostics.divergence_check([np.nan, np.nan], [np.nan, np.inf])
    assert check["reasons"] == [
        "the training loss is not finite",
        "validation outputs are not finite",
    ]
    assert check["max_train_loss"] is None and check["val_probability_std"] is None
    partly = diagnostics.divergence_check([0.6, np.nan], [0.2, 0.9])
    assert partly["max_train_loss"] == 0.6


def test_empty_inputs_are_refused_by_name():
    message = r"^divergence_check needs at least one epoch's loss and one validation probability$"
    with pytest.raises(ValueError, match=message):
        diagnostics.divergence_check([0.5], [])
    with pytest.raises(ValueError, match=message):
        diagnostics.divergence_check([], [0.5, 0.6])
    assert not diagnostics.divergence_check([0.5], [0.1, 0.9])["diverged"]  # one of each is enough


def hidden_frame(layer_values: dict, step: int = 1):
    import pandas as pd

    return pd.DataFrame(
        [
            {"layer": layer, "step": step, "position": position, "max_abs": value}
            for layer, values in layer_values.items()
            for position, value in enumerate(values)
        ]
    )


def test_growth_per_position_is_the_geometric_mean_ratio_at_the_last_probe():
    import pandas as pd

    hidden = pd.concat(
        [
            hidden_frame({"lstm_64": [1.0, 2.0, 4.0, 8.0], "lstm_32": [1.0, 1.0, 1.0, 1.0]}, 1),
            hidden_frame({"lstm_64": [2.0, 1.0, 4.0, 54.0], "lstm_32": [3.0, 3.0, 3.0, 3.0]}, 2),
        ]
    )
    assert diagnostics.growth_per_position(hidden) == pytest.approx(3.0)  # (54 / 2) ** (1 / 3)
    assert diagnostics.growth_per_position(hidden, "lstm_32") == pytest.approx(1.0)
    two = hidden_frame({"lstm_64": [2.0, 6.0]})
    assert diagnostics.growth_per_position(two) == pytest.approx(3.0)  # two positions suffice
    assert np.isnan(diagnostics.growth_per_position(hidden_frame({"lstm_64": [5.0]})))
    assert np.isnan(diagnostics.growth_per_position(hidden_frame({"lstm_64": [0.0, 5.0]})))


def test_the_summary_table_reads_the_last_probe_of_each_layer():
    import pandas as pd

    hidden = pd.concat(
        [
            hidden_frame({"lstm_64": [1.0, 9.0], "lstm_32": [7.0, 7.0]}, 1),
            hidden_frame({"lstm_64": [1.0, 4.0], "lstm_32": [2.0, 5.0]}, 2),
        ]
    )
    steps = pd.DataFrame({"step": [1, 2], "loss": [0.7, 0.4], "grad_norm": [3.0, 1.0]})
    dead = pd.DataFrame(
        {
            "step": [1, 2, 2],
            "layer": ["dense_16", "dense_16", "lstm_32"],
            "dead_share": [0.5, 0.25, 0.0],
        }
    )
    table = diagnostics.summary_table({"m": {"steps": steps, "hidden": hidden, "dead": dead}})
    row = table.loc["m"]
    assert row["steps"] == 2 and row["largest batch loss"] == 0.7
    assert row["largest gradient norm"] == 3.0
    assert row["largest |h_t| lstm_64"] == 4.0 and row["largest |h_t| lstm_32"] == 5.0
    assert row["growth per position lstm_64"] == pytest.approx(4.0)
    assert row["growth per position lstm_32"] == pytest.approx(2.5)
    assert row["dead units dense_16"] == 0.25 and row["dead units lstm_32"] == 0.0
    text = diagnostics.describe(table.assign(steps=2))
    assert text.startswith("m: over 2 steps the largest batch loss is 0.7 and")
    twice = diagnostics.describe(pd.concat([table, table.rename(index={"m": "n"})]))
    assert ". n: over 2 steps" in twice and "XX" not in twice


def test_a_missing_epoch_loss_counts_as_not_finite(spread_probabilities):
    # None (an epoch with no logged loss) becomes NaN only when read as float64.
    check = diagnostics.divergence_check([0.5, None, 0.3], spread_probabilities)
    assert check["reasons"] == ["the training loss is not finite"]
    assert check["max_train_loss"] == 0.5


def test_the_output_spread_is_computed_in_float64(spread_probabilities):
    # Keras predicts float32; numpy's float32 std accumulates in float32 and differs.
    as_float32 = spread_probabilities.astype("float32")
    check = diagnostics.divergence_check(STABLE_LOSS, as_float32)
    assert check["val_probability_std"] == as_float32.astype("float64").std()
    assert check["val_probability_std"] != float(as_float32.std())


@pytest.mark.parametrize(
    "loss, spike",
    [
        (None, True),
        (float("nan"), True),
        (-float("inf"), True),
        (0.3, False),
        (6.931, False),
        (6.9316, True),
    ],
)
def test_a_loss_spike_is_ten_times_the_uninformed_loss_or_not_finite(loss, spike):
    # 10 x ln 2 = 6.93147...
    assert diagnostics.is_loss_spike(loss) is spike
