"""Is a training run sound?  The divergence guard, and the diagnostics that explain a failure.

The paper's CNN-LSTM puts ReLU inside both LSTMs.  Keras applies that
activation to the candidate cell input and to the cell state before the output
gate, so nothing bounds the hidden state: it can grow geometrically along the
sequence, the loss spikes, units die and the output collapses towards a
constant, all without a single NaN.  :func:`divergence_check` flags such runs
from what every training already records; :func:`training_diagnostics` shows
the mechanism step by step.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .models import CONV, DENSE, LSTM_32, LSTM_64, SEQUENCE

#: Binary cross-entropy of a model that answers 0.5 for every flow: where
#: training starts, and a loss no sound run ever exceeds for long.
UNINFORMED_LOSS = math.log(2)

#: A run diverged if its training loss at any epoch exceeds this many times
#: :data:`UNINFORMED_LOSS`.
LOSS_SPIKE_FACTOR = 10.0

#: A run collapsed if its validation probabilities have a standard deviation
#: below this (a near-constant output).
CONSTANT_OUTPUT_STD = 1e-2


def is_loss_spike(loss) -> bool:
    """Whether one epoch's training loss marks a run diverged: not finite (None
    included), or above :data:`LOSS_SPIKE_FACTOR` times :data:`UNINFORMED_LOSS`."""
    if loss is None or not np.isfinite(loss):
        return True
    return bool(loss > LOSS_SPIKE_FACTOR * UNINFORMED_LOSS)


def divergence_check(train_loss, val_probability, threshold: float = 0.5) -> dict:
    """Did a training run diverge or collapse?

    Three signs, any of which marks the run: a training loss that is not finite,
    an epoch's training loss above ``LOSS_SPIKE_FACTOR`` times the uninformed
    loss, and validation outputs that are nearly constant (their standard
    deviation below :data:`CONSTANT_OUTPUT_STD`, or one class predicted for
    every validation flow).

    Parameters
    ----------
    train_loss : array-like of float
        The training loss of each epoch, in order.
    val_probability : array-like of float
        The trained model's attack probability for each validation flow.
    threshold : float, default 0.5
        The decision threshold, for the one-class test.

    Returns
    -------
    dict
        ``diverged`` (bool), ``reasons`` (list of str, empty for a sound run),
        ``max_train_loss`` and ``val_probability_std``.
    """
    loss = np.asarray(train_loss, dtype="float64").ravel()
    probability = np.asarray(val_probability, dtype="float64").ravel()
    if loss.size == 0 or probability.size == 0:
        raise ValueError(
            "divergence_check needs at least one epoch's loss and one validation probability"
        )
    reasons = []
    if not np.isfinite(loss).all():
        reasons.append("the training loss is not finite")
    elif is_loss_spike(loss.max()):
        epoch = int(np.argmax(loss)) + 1
        reasons.append(
            f"training loss {loss.max():.4g} at epoch {epoch}, above {LOSS_SPIKE_FACTOR:g} x ln 2"
        )
    finite = probability[np.isfinite(probability)]
    spread = float(finite.std()) if finite.size else float("nan")
    if finite.size < probability.size:
        reasons.append("validation outputs are not finite")
    elif spread < CONSTANT_OUTPUT_STD:
        reasons.append(f"near-constant validation output (standard deviation {spread:.2g})")
    elif len(np.unique(probability >= threshold)) == 1:
        reasons.append("one class predicted for every validation flow")
    return {
        "diverged": bool(reasons),
        "reasons": reasons,
        "max_train_loss": float(np.nanmax(loss)) if np.isfinite(loss).any() else None,
        "val_probability_std": spread if np.isfinite(spread) else None,
    }


def training_diagnostics(
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    lstm_activation: str,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    steps: int = 300,
    probe_every: int = 25,
    probe_rows: int = 256,
) -> dict[str, pd.DataFrame]:
    """Train the CNN-LSTM step by step and record what happens inside it.

    The same model, optimiser, loss and batch size as the replication's
    training, in an explicit loop so that each step can be measured.

    Parameters
    ----------
    x, y : numpy.ndarray
        Scaled training features (n, n_features) and 0/1 labels.
    seed : int
        Seeds the weights and the batch order.
    lstm_activation : {"relu", "tanh"}
        The model (:data:`ids_utils.models.CNN_LSTMS`).
    batch_size, learning_rate : int, float
        As in training.
    steps : int, default 300
        Optimiser steps to run (the data are reshuffled after each pass).
    probe_every : int, default 25
        Steps between two probes of the hidden states and dead units.
    probe_rows : int, default 256
        Training flows (the first ones) the probes run on.

    Returns
    -------
    dict of pandas.DataFrame
        ``steps``: ``step``, ``loss`` (of that batch), ``grad_norm`` and one
        ``grad_norm_<layer>`` column per layer with weights.
        ``hidden``: ``step``, ``layer``, ``position`` (1-based), ``max_abs``, the
        largest |h_t| over the probe flows at each sequence position of each LSTM.
        ``dead``: ``step``, ``layer``, ``dead_share``, the share of units whose
        output is exactly zero for every probe flow (and position).
    """
    import keras
    import tensorflow as tf

    from .models import build_cnn_lstm
    from .training import set_determinism

    if steps < 1 or probe_every < 1:
        raise ValueError("steps and probe_every must be positive")
    x = np.asarray(x, dtype="float32")
    y = np.asarray(y, dtype="float32").reshape(-1, 1)
    set_determinism(seed)
    model = build_cnn_lstm(
        x.shape[1], learning_rate, unroll=False, jit_compile=False, lstm_activation=lstm_activation
    )
    layers_with_weights = [layer for layer in model.layers if layer.trainable_weights]
    groups = [len(layer.trainable_weights) for layer in layers_with_weights]
    loss_function = keras.losses.BinaryCrossentropy()

    @tf.function
    def train_step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_function(yb, model(xb, training=True))
        gradients = tape.gradient(loss, model.trainable_weights)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_weights))
        return loss, tf.stack([tf.norm(g) for g in gradients])

    probe_x = x[:probe_rows]
    # lstm_32 returns only its last state; a twin returning every state, given
    # the same weights at each probe, shows the whole sequence.
    twin = keras.layers.LSTM(32, activation=lstm_activation, return_sequences=True)
    rng = np.random.default_rng(seed)
    order = np.array([], dtype=int)
    step_rows, hidden_rows, dead_rows = [], [], []
    for step in range(steps + 1):
        if step % probe_every == 0 or step == steps:
            hidden, dead = _probe(model, twin, probe_x)
            hidden_rows += [{"step": step, **row} for row in hidden]
            dead_rows += [{"step": step, **row} for row in dead]
        if step == steps:
            break
        if len(order) < batch_size:
            order = np.concatenate([order, rng.permutation(len(x))])
        batch, order = order[:batch_size], order[batch_size:]
        loss, norms = train_step(tf.constant(x[batch]), tf.constant(y[batch]))
        norms = norms.numpy().astype("float64")
        per_layer = np.split(norms, np.cumsum(groups)[:-1])
        step_rows.append(
            {
                "step": step + 1,
                "loss": float(loss),
                "grad_norm": float(np.sqrt((norms**2).sum())),
                **{
                    f"grad_norm_{layer.name}": float(np.sqrt((part**2).sum()))
                    for layer, part in zip(layers_with_weights, per_layer)
                },
            }
        )
    return {
        "steps": pd.DataFrame(step_rows),
        "hidden": pd.DataFrame(hidden_rows),
        "dead": pd.DataFrame(dead_rows),
    }


def diagnose_cnn_lstms(
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    batch_size: int,
    learning_rates: dict[str, float],
    n_workers: int,
    **recorder,
) -> dict[str, dict[str, pd.DataFrame]]:
    """:func:`training_diagnostics` of each CNN-LSTM, side by side in worker processes.

    Parameters
    ----------
    learning_rates : dict
        Model name (:data:`ids_utils.models.CNN_LSTMS`) -> its learning rate.
    n_workers : int
        Worker processes (:func:`ids_utils.workers.run_jobs`): one thread each, as
        every training of the run has.
    **recorder
        ``steps``, ``probe_every``, ``probe_rows`` of :func:`training_diagnostics`.

    Returns
    -------
    dict
        Model name -> its diagnosis, in the order of :data:`ids_utils.models.CNN_LSTMS`.

    Raises
    ------
    ValueError
        If ``learning_rates`` does not name each CNN-LSTM exactly once.
    """
    from .models import CNN_LSTMS
    from .workers import run_jobs

    if set(learning_rates) != set(CNN_LSTMS):
        raise ValueError(
            f"a learning rate is needed for each of {list(CNN_LSTMS)}, got {sorted(learning_rates)}"
        )
    jobs = [
        {
            "x": x,
            "y": y,
            "seed": seed,
            "lstm_activation": activation,
            "batch_size": batch_size,
            "learning_rate": learning_rates[model],
            **recorder,
        }
        for model, activation in CNN_LSTMS.items()
    ]
    return dict(zip(CNN_LSTMS, run_jobs(training_diagnostics, jobs, n_workers, desc="diagnostics")))


def _probe(model, twin, x: np.ndarray) -> tuple[list[dict], list[dict]]:
    """Largest |h_t| per position of each LSTM, and the share of dead units per layer."""
    outputs = {}
    value = model.get_layer(SEQUENCE)(x)
    for name in (CONV, LSTM_64, LSTM_32, DENSE):
        layer = model.get_layer(name)
        if name == LSTM_32:
            if not twin.built:
                twin.build(value.shape)
            twin.set_weights(layer.get_weights())
            outputs[LSTM_32] = np.asarray(twin(value))
            value = outputs[LSTM_32][:, -1, :]
            continue
        value = np.asarray(layer(value))
        outputs[name] = value
    hidden = [
        {"layer": name, "position": position + 1, "max_abs": float(largest)}
        for name in (LSTM_64, LSTM_32)
        for position, largest in enumerate(np.abs(outputs[name]).max(axis=(0, 2)))
    ]
    dead = []
    for name, output in outputs.items():
        per_unit = np.abs(output).reshape(-1, output.shape[-1]).max(axis=0)
        dead.append({"layer": name, "dead_share": float((per_unit == 0).mean())})
    return hidden, dead


def growth_per_position(hidden: pd.DataFrame, layer: str = LSTM_64) -> float:
    """Geometric mean growth of the largest |h_t| from one sequence position to the next,
    at the last probe (1 for a bounded state that does not grow)."""
    last = hidden[(hidden["layer"] == layer) & (hidden["step"] == hidden["step"].max())]
    values = last.sort_values("position")["max_abs"].to_numpy()
    if len(values) < 2 or values[0] <= 0:
        return float("nan")
    return float((values[-1] / values[0]) ** (1 / (len(values) - 1)))


def summary_table(diagnosis: dict[str, dict[str, pd.DataFrame]]) -> pd.DataFrame:
    """One row per model of :func:`training_diagnostics` results: the largest batch loss
    and gradient norm, the largest |h_t| of each LSTM and its growth per position, and the
    share of dead units per layer, at the end of the diagnosed steps."""
    rows = {}
    for model, result in diagnosis.items():
        steps, hidden, dead = result["steps"], result["hidden"], result["dead"]
        last = hidden["step"].max()
        row = {
            "steps": int(steps["step"].max()),
            "largest batch loss": steps["loss"].max(),
            "largest gradient norm": steps["grad_norm"].max(),
        }
        for layer in (LSTM_64, LSTM_32):
            final = hidden[(hidden["layer"] == layer) & (hidden["step"] == last)]
            row[f"largest |h_t| {layer}"] = final["max_abs"].max()
            row[f"growth per position {layer}"] = growth_per_position(hidden, layer)
        final_dead = dead[dead["step"] == dead["step"].max()].set_index("layer")["dead_share"]
        row.update({f"dead units {layer}": share for layer, share in final_dead.items()})
        rows[model] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def describe(table: pd.DataFrame) -> str:
    """The :func:`summary_table` in one sentence per model, for the book (no typed numbers)."""
    sentences = []
    for model, row in table.iterrows():
        sentences.append(
            f"{model}: over {row['steps']:.0f} steps the largest batch loss is "
            f"{row['largest batch loss']:.3g} and the largest gradient norm "
            f"{row['largest gradient norm']:.3g}; at the end the largest hidden value of "
            f"lstm_64 is {row['largest |h_t| lstm_64']:.3g}, growing by a factor of "
            f"{row['growth per position lstm_64']:.3g} per sequence position, and "
            f"{row['dead units dense_16']:.0%} of the dense_16 units are dead."
        )
    return " ".join(sentences)
