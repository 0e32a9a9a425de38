"""The paper's CNN-LSTM (Section 3.3), its ablation variants, and what describes them.

Saving and loading a trained model as a detector file is :mod:`ids_utils.detectors`.
"""

from __future__ import annotations

import numpy as np


#: The architectures the ablation chapter trains, by name.  All share the
#: paper's head (Dense 16, ReLU, dropout, sigmoid) and its training.
VARIANTS = ("CNN-LSTM", "CNN only", "LSTM only", "MLP", "no dropout")

AS_WRITTEN = "CNN-LSTM as written"
STABILISED = "CNN-LSTM stabilised"

#: The two CNN-LSTMs the replication trains side by side, with the activation
#: inside their LSTMs: the paper's ReLU (Section 3.3), whose recurrence is
#: unbounded and diverges, and Keras' default tanh.  Nothing else differs.
CNN_LSTMS = {AS_WRITTEN: "relu", STABILISED: "tanh"}


def model_slug(name: str) -> str:
    """A file-name form of a model's name: ``CNN-LSTM as written`` -> ``as-written``."""
    if name not in CNN_LSTMS:
        raise ValueError(f"unknown CNN-LSTM {name!r}; choose one of {list(CNN_LSTMS)}")
    return name.removeprefix("CNN-LSTM ").replace(" ", "-")


def settings_for(model: str, settings: dict, per_model: dict[str, dict] | None) -> dict:
    """The training settings of one CNN-LSTM: the profile's, with that model's entry of
    ``per_model`` (settings chosen for it on validation) in their place.

    Raises
    ------
    ValueError
        If ``per_model`` names a model that is not one of :data:`CNN_LSTMS` (a misspelt
        name would otherwise leave the profile's settings in place unnoticed).
    """
    per_model = per_model or {}
    unknown = sorted(set(per_model) - set(CNN_LSTMS))
    if unknown:
        raise ValueError(f"settings for unknown CNN-LSTMs {unknown}; choose from {list(CNN_LSTMS)}")
    return {**settings, **per_model.get(model, {})}


def build_cnn_lstm(
    n_features: int,
    learning_rate: float = 1e-3,
    unroll: bool = False,
    jit_compile: bool | str = "auto",
    steps_per_execution: int = 1,
    lstm_activation: str = "relu",
):
    """The paper's CNN-LSTM, compiled with Adam and binary cross-entropy.

    (n_features,) -> reshape (n_features, 1) -> Conv1D(32, 3, same, ReLU)
    -> LSTM(64, sequences, ReLU) -> LSTM(32, ReLU) -> Dense(16, ReLU)
    -> Dropout(0.5) -> Dense(1, sigmoid).  37,921 trainable parameters for any
    number of features (the convolution shares its weights along the sequence).

    Parameters
    ----------
    n_features : int
        Features per flow (39 for the merged release, 43 for the original).
    learning_rate : float, default 1e-3
        Adam's learning rate; the paper gives none, so Keras' default.
    unroll : bool, default False
        Unroll the LSTM loops.  The same mathematics, often faster on CPU for
        sequences this short; see the training-speed benchmark.
    jit_compile : bool or "auto", default "auto"
        XLA compilation of the training step (Keras' ``compile`` argument).
    steps_per_execution : int, default 1
        Batches run per call into TensorFlow (Keras' ``compile`` argument): less
        Python overhead per batch, the same updates in the same order.
    lstm_activation : {"relu", "tanh"}, default "relu"
        The activation inside both LSTMs (candidate and cell output): the paper's
        ReLU, or tanh for the stabilised model (:data:`CNN_LSTMS`).
    """
    return build_model(
        "CNN-LSTM",
        n_features,
        learning_rate,
        unroll,
        jit_compile,
        steps_per_execution,
        lstm_activation,
    )


#: The names of the CNN-LSTM's layers, which the modules that read its layers use
#: (the ONNX export, the training diagnostics) rather than typing them again.
SEQUENCE, CONV, LSTM_64, LSTM_32, DENSE, OUTPUT = (
    "as_sequence",
    "conv",
    "lstm_64",
    "lstm_32",
    "dense_16",
    "attack_probability",
)


def build_model(
    variant: str,
    n_features: int,
    learning_rate: float = 1e-3,
    unroll: bool = False,
    jit_compile: bool | str = "auto",
    steps_per_execution: int = 1,
    lstm_activation: str = "relu",
):
    """The paper's CNN-LSTM or one of its ablations (:data:`VARIANTS`), compiled.

    ``CNN only`` keeps the convolution and flattens its output into the head;
    ``LSTM only`` feeds the raw sequence to the two LSTMs; ``MLP`` replaces both
    by two dense ReLU layers of about the CNN-LSTM's size; ``no dropout`` is the
    CNN-LSTM with a dropout rate of 0.  Other arguments as :func:`build_cnn_lstm`
    (``lstm_activation`` applies to the variants that have LSTMs).
    """
    import keras
    from keras import layers

    if variant not in VARIANTS:
        raise ValueError(f"unknown model variant {variant!r}; choose one of {VARIANTS}")
    if lstm_activation not in CNN_LSTMS.values():
        raise ValueError(
            f"lstm_activation must be one of {sorted(set(CNN_LSTMS.values()))}, "
            f"got {lstm_activation!r}"
        )
    if n_features < 3:
        raise ValueError(f"n_features must be at least 3 (the kernel size), got {n_features}")
    inputs = keras.Input(shape=(n_features,), name="flow")
    sequence = layers.Reshape((n_features, 1), name=SEQUENCE)(inputs)
    if variant in ("CNN-LSTM", "no dropout", "CNN only"):
        x = layers.Conv1D(32, 3, padding="same", activation="relu", name=CONV)(sequence)
    else:
        x = sequence
    if variant == "CNN only":
        x = layers.Flatten(name="flatten")(x)
    elif variant == "MLP":
        x = layers.Dense(160, activation="relu", name="dense_160")(inputs)
        x = layers.Dense(160, activation="relu", name="dense_160b")(x)
    else:
        x = layers.LSTM(
            64, return_sequences=True, activation=lstm_activation, unroll=unroll, name=LSTM_64
        )(x)
        x = layers.LSTM(32, activation=lstm_activation, unroll=unroll, name=LSTM_32)(x)
    x = layers.Dense(16, activation="relu", name=DENSE)(x)
    x = layers.Dropout(0.0 if variant == "no dropout" else 0.5, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name=OUTPUT)(x)
    name = "cnn_lstm" if variant == "CNN-LSTM" else variant.lower().replace(" ", "_")
    model = keras.Model(inputs, outputs, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return model


def architecture_settings(model) -> dict:
    """The settings of Section 3.3 as built in a model, named as in the paper's claims table.

    Lets a test (and the model chapter) compare the built model with
    ``paper_claims("setting")`` instead of trusting the code that builds it.
    """
    config = {layer.name: layer.get_config() for layer in model.layers}
    return {
        "conv_filters": config[CONV]["filters"],
        "kernel_size": config[CONV]["kernel_size"][0],
        "lstm1_units": config[LSTM_64]["units"],
        "lstm2_units": config[LSTM_32]["units"],
        "dense_units": config[DENSE]["units"],
        "dropout_rate": config["dropout"]["rate"],
    }


def forward_flops_per_flow(
    n_features: int,
    conv_filters: int = 32,
    kernel_size: int = 3,
    lstm_units: tuple[int, int] = (64, 32),
    dense_units: int = 16,
) -> int:
    """Floating-point operations (multiply and add counted apart) to score one flow.

    Counts the matrix products of each layer at every one of the
    ``n_features`` sequence positions (the convolution and both LSTMs' four
    gates over their input and recurrent state), then the dense head;
    element-wise activations are left out (a few per cent).  Training costs
    about three times this per flow (forward, and twice for the backward pass).
    """
    conv = 2 * kernel_size * conv_filters
    first = 2 * 4 * lstm_units[0] * (conv_filters + lstm_units[0])
    second = 2 * 4 * lstm_units[1] * (lstm_units[0] + lstm_units[1])
    head = 2 * lstm_units[1] * dense_units + 2 * dense_units
    return n_features * (conv + first + second) + head


def trainable_parameters(model) -> int:
    """Number of trainable parameters of a Keras model."""
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def layer_table(model):
    """One row per layer: name, type, output shape, trainable parameters (a DataFrame)."""
    import pandas as pd

    rows = [
        {
            "layer": layer.name,
            "type": type(layer).__name__,
            "output_shape": str(tuple(layer.output.shape)).replace("None", "batch"),
            "parameters": int(sum(np.prod(w.shape) for w in layer.trainable_weights)),
        }
        for layer in model.layers
    ]
    return pd.DataFrame(rows)
