"""The paper's architecture, and detector files that load safely or not at all."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest

from ids_utils import detectors, models


class _Exploit:
    """Unpickling this would create a file: proof that a pickle was executed."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("n_features", [39, 43])
def test_parameter_count_is_37921_for_any_feature_count(n_features):
    model = models.build_cnn_lstm(n_features)
    assert models.trainable_parameters(model) == 37_921
    table = models.layer_table(model)
    assert table["type"].tolist() == [
        "InputLayer",
        "Reshape",
        "Conv1D",
        "LSTM",
        "LSTM",
        "Dense",
        "Dropout",
        "Dense",
    ]
    assert table["output_shape"].iloc[2] == f"(batch, {n_features}, 32)"


def test_layers_follow_section_3_3():
    model = models.build_cnn_lstm(39)
    conv, lstm64, lstm32 = (model.get_layer(n) for n in ("conv", "lstm_64", "lstm_32"))
    assert (conv.filters, conv.kernel_size, conv.padding) == (32, (3,), "same")
    assert lstm64.units == 64 and lstm64.return_sequences
    assert lstm32.units == 32 and not lstm32.return_sequences
    assert lstm64.cell.activation.__name__ == "relu" == lstm32.cell.activation.__name__
    assert model.get_layer("dropout").rate == 0.5
    assert model.get_layer("attack_probability").activation.__name__ == "sigmoid"


def test_speed_settings_keep_the_mathematics():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 39)).astype("float32")
    plain = models.build_cnn_lstm(39)
    fast = models.build_cnn_lstm(39, unroll=True, steps_per_execution=8)
    fast.set_weights(plain.get_weights())
    difference = np.abs(plain.predict(x, verbose=0) - fast.predict(x, verbose=0)).max()
    assert difference < 1e-5


@pytest.fixture
def scaler():
    from ids_utils.datasets import MERGED_FEATURES

    return {
        "features": list(MERGED_FEATURES),
        "mean": [0.0] * 39,
        "scale": [1.0] * 39,
        "n_samples_seen": 10,
    }


def test_detector_round_trip(tmp_path, scaler):
    model = models.build_cnn_lstm(39)
    path = detectors.save_detector(
        model, tmp_path / "m.keras", scaler["features"], scaler, 0.7, {"seed": 1}
    )
    detector = detectors.load_detector(path)
    assert detector.features == scaler["features"] and detector.threshold == 0.7
    assert detector.metadata == {"seed": 1}
    x = np.random.default_rng(1).standard_normal((8, 39)).astype("float32")
    assert np.array_equal(model.predict(x, verbose=0), detector.model.predict(x, verbose=0))


def test_save_refuses_mismatched_scaler(tmp_path, scaler):
    with pytest.raises(ValueError, match="other features"):
        detectors.save_detector(models.build_cnn_lstm(39), tmp_path / "m.keras", ["x"] * 39, scaler)


def test_a_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "executed"
    path = tmp_path / "model.keras"
    path.write_bytes(pickle.dumps(_Exploit(marker)))
    with pytest.raises(detectors.DetectorFileError, match="not a Keras archive"):
        detectors.load_detector(path)
    assert not marker.exists()


def test_other_zip_files_are_refused(tmp_path, scaler):
    other = tmp_path / "other.keras"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(detectors.DetectorFileError, match="no config.json"):
        detectors.load_detector(other)
    plain = tmp_path / "plain.keras"
    models.build_cnn_lstm(39).save(plain)
    with pytest.raises(detectors.DetectorFileError, match="without ids_detector.json"):
        detectors.load_detector(plain)
    with pytest.raises(detectors.DetectorFileError, match="no such model file"):
        detectors.load_detector(tmp_path / "absent.keras")


def test_the_built_model_matches_the_papers_settings():
    from ids_utils.paper import paper_claims

    settings = paper_claims("setting")["paper"]
    built = models.architecture_settings(models.build_cnn_lstm(39))
    assert built == {name: settings[name] for name in built}


@pytest.mark.parametrize("variant", ["CNN only", "LSTM only", "MLP", "no dropout"])
def test_ablation_variants_are_comparable_in_size(variant):
    model = models.build_model(variant, 39)
    assert 0.5 < models.trainable_parameters(model) / 37_921 <= 1.0
    assert model.output.shape[-1] == 1


def test_an_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="unknown model variant"):
        models.build_model("transformer", 39)


def test_the_two_cnn_lstms_differ_only_in_the_lstm_activation():
    configs = {
        name: models.build_cnn_lstm(39, lstm_activation=activation).get_config()
        for name, activation in models.CNN_LSTMS.items()
    }
    as_written, stabilised = configs[models.AS_WRITTEN], configs[models.STABILISED]

    def differences(a, b, path=""):
        if isinstance(a, dict):
            return [
                d
                for key in sorted(set(a) | set(b))
                for d in differences(a.get(key), b.get(key), f"{path}/{key}")
            ]
        if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            return [
                d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}/{i}")
            ]
        return [] if a == b else [(path, a, b)]

    found = differences(as_written, stabilised)
    assert sorted(found) == [
        ("/layers/3/config/activation", "relu", "tanh"),
        ("/layers/4/config/activation", "relu", "tanh"),
    ]
    assert [as_written["layers"][i]["config"]["name"] for i in (3, 4)] == ["lstm_64", "lstm_32"]


def test_an_unknown_lstm_activation_is_refused():
    with pytest.raises(ValueError, match="lstm_activation"):
        models.build_cnn_lstm(39, lstm_activation="sigmoid")
    assert models.model_slug(models.AS_WRITTEN) == "as-written"
    with pytest.raises(ValueError, match="unknown CNN-LSTM"):
        models.model_slug("CNN-LSTM")


def test_flop_count_matches_the_weight_matrices_of_the_built_model():
    # By hand: per position, conv 2*3*32 = 192, LSTM(64) 2*4*64*(32+64) = 49,152,
    # LSTM(32) 2*4*32*(64+32) = 24,576; head 2*32*16 + 2*16 = 1,056.
    assert models.forward_flops_per_flow(39) == 39 * (192 + 49_152 + 24_576) + 1_056
    model = models.build_cnn_lstm(39)
    per_position = sum(
        2 * np.prod(w.shape)
        for layer in ("conv", "lstm_64", "lstm_32")
        for w in model.get_layer(layer).weights
        if len(w.shape) >= 2
    )
    assert models.forward_flops_per_flow(39) == 39 * per_position + 1_056


def test_settings_for_a_model_replace_the_profiles_for_that_model_only():
    from ids_utils.models import AS_WRITTEN, STABILISED, settings_for

    profile = {"epochs": 20, "learning_rate": 1e-3}
    chosen = {STABILISED: {"learning_rate": 3e-4}}
    assert settings_for(STABILISED, profile, chosen) == {"epochs": 20, "learning_rate": 3e-4}
    assert settings_for(AS_WRITTEN, profile, chosen) == profile
    assert settings_for(AS_WRITTEN, profile, None) == profile
    assert profile == {"epochs": 20, "learning_rate": 1e-3}
    with pytest.raises(ValueError, match=r"unknown CNN-LSTMs \['MLP'\]"):
        settings_for(AS_WRITTEN, profile, {"MLP": {}})
