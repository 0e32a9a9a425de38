"""The deployment runtimes of a detector: ONNX exports, a LiteRT conversion, their runners.

The scorer (:mod:`ids_utils.scoring`) runs a detector through ONNX Runtime on
the graph of :func:`export_onnx_native`; the latency chapter
(:mod:`ids_utils.latency`) times every export against Keras.  The layers are
found by the names :mod:`ids_utils.models` gives them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .models import CONV, DENSE, LSTM_32, LSTM_64, OUTPUT, build_cnn_lstm


def export_onnx(model, path: str | Path) -> Path:
    """Export a Keras model to ONNX (Keras' own exporter, which uses tf2onnx)."""
    path = Path(path)
    model.export(str(path), format="onnx", verbose=False)
    return path


def export_onnx_native(model, path: str | Path | None = None) -> Path | bytes:
    """The CNN-LSTM as an ONNX graph built on ONNX's own LSTM operator.

    Written to ``path`` (and the path returned), or returned as bytes when
    ``path`` is None.

    Keras' exporter turns each LSTM into a loop of small operations; ONNX has an
    LSTM operator that takes the activations as attributes (sigmoid gates;
    ReLU cell and output as in the paper, or tanh in the stabilised model),
    which ONNX Runtime runs as one fused kernel.  The weights are the model's
    own, reordered: Keras stacks the gates as (input, forget, cell, output),
    ONNX as (input, output, forget, cell).  A test checks the graph against Keras on real flows.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n_features = model.input_shape[1]
    conv, lstm1, lstm2, dense, output = (
        model.get_layer(name) for name in (CONV, LSTM_64, LSTM_32, DENSE, OUTPUT)
    )
    initializers, nodes = [], []

    def constant(name, array):
        initializers.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32), name))
        return name

    def lstm_weights(layer, prefix):
        kernel, recurrent, bias = (np.asarray(w) for w in layer.get_weights())
        units = layer.units
        order = [0, 3, 1, 2]  # Keras (i, f, c, o) -> ONNX (i, o, f, c)

        def reorder(matrix):
            return np.concatenate(
                [matrix[..., g * units : (g + 1) * units] for g in order], axis=-1
            )

        w = reorder(kernel).T[None]  # (1, 4u, input)
        r = reorder(recurrent).T[None]  # (1, 4u, u)
        b = np.concatenate([reorder(bias), np.zeros(4 * units)])[None]  # (1, 8u)
        return constant(f"{prefix}_W", w), constant(f"{prefix}_R", r), constant(f"{prefix}_B", b)

    conv_kernel, conv_bias = (np.asarray(w) for w in conv.get_weights())
    nodes += [
        helper.make_node(
            "Unsqueeze", ["flow", _constant_axes(initializers, "axis1", [1])], ["as_channels"]
        ),  # (B, 1, n)
        helper.make_node(
            "Conv",
            [
                "as_channels",
                constant("conv_W", conv_kernel.transpose(2, 1, 0)),
                constant("conv_B", conv_bias),
            ],
            ["conv"],
            kernel_shape=[3],
            pads=[1, 1],
        ),  # (B, 32, n)
        helper.make_node("Relu", ["conv"], ["conv_relu"]),
        helper.make_node("Transpose", ["conv_relu"], ["sequence"], perm=[2, 0, 1]),  # (n, B, 32)
    ]
    # Gates, candidate, cell output; the last two are the model's own LSTM activation.
    cell = {"relu": "Relu", "tanh": "Tanh"}[lstm1.get_config()["activation"]]
    activations = ["Sigmoid", cell, cell]
    w1, r1, b1 = lstm_weights(lstm1, "lstm1")
    nodes += [
        helper.make_node(
            "LSTM",
            ["sequence", w1, r1, b1],
            ["lstm1_Y"],
            hidden_size=lstm1.units,
            activations=activations,
        ),  # (n, 1, B, 64)
        helper.make_node(
            "Squeeze", ["lstm1_Y", _constant_axes(initializers, "axis_1", [1])], ["lstm1_seq"]
        ),
    ]
    w2, r2, b2 = lstm_weights(lstm2, "lstm2")
    dense_kernel, dense_bias = (np.asarray(w) for w in dense.get_weights())
    out_kernel, out_bias = (np.asarray(w) for w in output.get_weights())
    nodes += [
        helper.make_node(
            "LSTM",
            ["lstm1_seq", w2, r2, b2],
            ["", "lstm2_h"],
            hidden_size=lstm2.units,
            activations=activations,
        ),  # (1, B, 32)
        helper.make_node(
            "Squeeze", ["lstm2_h", _constant_axes(initializers, "axis0", [0])], ["summary"]
        ),
        helper.make_node(
            "Gemm",
            ["summary", constant("dense_W", dense_kernel), constant("dense_B", dense_bias)],
            ["dense"],
        ),
        helper.make_node("Relu", ["dense"], ["dense_relu"]),
        helper.make_node(
            "Gemm",
            ["dense_relu", constant("out_W", out_kernel), constant("out_B", out_bias)],
            ["logit"],
        ),
        helper.make_node("Sigmoid", ["logit"], ["attack_probability"]),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn_lstm",
        [helper.make_tensor_value_info("flow", TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info("attack_probability", TensorProto.FLOAT, ["batch", 1])],
        initializers,
    )
    onnx_model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ids_utils"
    )
    onnx.checker.check_model(onnx_model)
    if path is None:
        return onnx_model.SerializeToString()
    path = Path(path)
    onnx.save(onnx_model, str(path))
    return path


def _constant_axes(initializers: list, name: str, axes: list[int]) -> str:
    """Add an int64 axes constant (Squeeze/Unsqueeze inputs) and return its name."""
    from onnx import numpy_helper

    initializers.append(numpy_helper.from_array(np.asarray(axes, dtype=np.int64), name))
    return name


def export_litert(model, path: str | Path) -> Path:
    """Convert a CNN-LSTM to a LiteRT (TFLite) flat buffer with built-in ops only.

    An unrolled copy with the same weights is converted, through a SavedModel
    so that the weights become constants (converting a concrete function leaves
    them as variables, and the interpreter then silently returns NaN).
    """
    import tensorflow as tf

    n_features = model.input_shape[1]
    activation = model.get_layer(LSTM_64).get_config()["activation"]
    unrolled = build_cnn_lstm(n_features, unroll=True, lstm_activation=activation)
    unrolled.set_weights(model.get_weights())
    with tempfile.TemporaryDirectory() as folder:
        unrolled.export(folder, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        flat_buffer = converter.convert()
    path = Path(path)
    path.write_bytes(flat_buffer)
    return path


class OnnxRunner:
    """ONNX Runtime session: ``runner(x)`` gives attack probabilities."""

    def __init__(self, path: str | Path, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input: x})[0].ravel()


class LiteRTRunner:
    """LiteRT interpreter: ``runner(x)`` gives attack probabilities, any batch size."""

    def __init__(self, path: str | Path, threads: int):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]
        self.batch = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.batch != len(x):
            self.interpreter.resize_tensor_input(self.input, list(x.shape))
            self.interpreter.allocate_tensors()
            self.batch = len(x)
        self.interpreter.set_tensor(self.input, x)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output).ravel().copy()
