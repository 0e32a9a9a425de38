"""The deployment runtimes: each export computes what the Keras model computes."""

from __future__ import annotations

import numpy as np
import pytest

from ids_utils import models, runtimes

#: Largest difference from Keras allowed (float32 kernels in another order).
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def flows():
    return np.random.default_rng(0).standard_normal((64, 12)).astype("float32")


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_the_lstm_operator_graph_computes_what_keras_computes(tmp_path, flows, activation):
    import keras

    keras.utils.set_random_seed(3)
    model = models.build_cnn_lstm(12, lstm_activation=activation)
    path = runtimes.export_onnx_native(model, tmp_path / "model.onnx")
    assert path.read_bytes() == runtimes.export_onnx_native(model)  # bytes when no path
    reference = model.predict(flows, verbose=0).ravel()
    difference = np.abs(runtimes.OnnxRunner(path, threads=1)(flows) - reference)
    assert difference.max() <= TOLERANCE
    assert reference.std() > 0  # the comparison is not between two constants


def test_a_graph_from_another_activation_differs(tmp_path, flows):
    import keras

    keras.utils.set_random_seed(3)
    relu = models.build_cnn_lstm(12, lstm_activation="relu")
    tanh = models.build_cnn_lstm(12, lstm_activation="tanh")
    tanh.set_weights(relu.get_weights())
    graph = runtimes.OnnxRunner(runtimes.export_onnx_native(tanh, tmp_path / "t.onnx"), 1)
    assert np.abs(graph(flows) - relu.predict(flows, verbose=0).ravel()).max() > TOLERANCE


def test_litert_agrees_with_keras_and_never_returns_nan(tmp_path, flows):
    model = models.build_cnn_lstm(12, lstm_activation="tanh")
    runner = runtimes.LiteRTRunner(runtimes.export_litert(model, tmp_path / "m.tflite"), 1)
    assert np.isfinite(runner(flows[:7])).all() and np.isfinite(runner(flows[:1])).all()
    reference = model.predict(flows, verbose=0).ravel()
    assert np.abs(runner(flows) - reference).max() <= TOLERANCE
