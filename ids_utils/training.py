"""Deterministic, seeded training (paper Section 3.4), and the training-speed benchmark."""

from __future__ import annotations

import time

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from .diagnostics import is_loss_spike
from .models import build_cnn_lstm, build_model, forward_flops_per_flow

#: The fastest deterministic settings found by the training-speed benchmark on a
#: 2-core CPU: the LSTM loops unrolled (39 or 43 steps) and 8 batches per call
#: into TensorFlow.  Neither changes the mathematics: the same batches, in the
#: same order, with the same updates.  XLA (``jit_compile``) is off because
#: Keras refuses it while TensorFlow's op determinism is on.
FAST_SETTINGS = {"unroll": True, "steps_per_execution": 8, "jit_compile": False}

#: Below this many flow-epochs, compiling the unrolled loops costs more than it
#: saves (measured here, one thread, 122 steps: unrolling adds ~18 s of
#: compilation and saves ~20% per epoch), so small runs keep the loops rolled.
UNROLL_MIN_FLOW_EPOCHS = 200_000


def speed_settings(n_rows: int, epochs: int) -> dict:
    """The speed settings for a training of ``n_rows`` flows and ``epochs`` epochs:
    :data:`FAST_SETTINGS`, with the loops rolled for small runs."""
    return {**FAST_SETTINGS, "unroll": n_rows * epochs >= UNROLL_MIN_FLOW_EPOCHS}


#: The settings the speed benchmark compares (Keras' defaults first).
SPEED_CONFIGS = {
    "Keras defaults": {"unroll": False, "steps_per_execution": 1, "jit_compile": False},
    "8 batches per call": {"unroll": False, "steps_per_execution": 8, "jit_compile": False},
    "unrolled LSTM + 8 batches per call": FAST_SETTINGS,
}


def speed_configs(names: list[str]) -> dict[str, dict]:
    """The :data:`SPEED_CONFIGS` entries of ``names``, in that order.

    Raises
    ------
    ValueError
        If a name is not a setting of :data:`SPEED_CONFIGS`, or no name is given.
    """
    unknown = [name for name in names if name not in SPEED_CONFIGS]
    if unknown or not names:
        found = f"unknown speed settings {unknown}" if unknown else "no speed setting given"
        raise ValueError(f"{found}; choose from {list(SPEED_CONFIGS)}")
    return {name: SPEED_CONFIGS[name] for name in names}


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic.

    With the same seed, data and machine, training gives the same weights bit
    for bit (a test checks it).
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def train_cnn_lstm(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    seed: int,
    epochs: int = 20,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    speed: dict | None = None,
    verbose: int = 2,
    variant: str = "CNN-LSTM",
    lstm_activation: str = "relu",
    stop_on_divergence: bool = False,
):
    """Train the paper's CNN-LSTM (or an ablation); the validation set is the only data watched.

    Parameters
    ----------
    x_train, y_train : numpy.ndarray
        Scaled training features (n, n_features) and 0/1 labels.
    x_val, y_val : numpy.ndarray
        The validation subset, taken from the training part.
    seed : int
        Seeds initial weights, dropout and the shuffling of batches.
    epochs : int, default 20
        The paper's 20.
    batch_size : int, default 32
        The paper gives none (only "a batch size that was carefully selected to
        ensure the stability of the gradients"); Keras' default.
    learning_rate : float, default 1e-3
        The paper gives none (it names Adam only); Adam's default in Keras.
    speed : dict, optional
        Keyword arguments of :func:`build_cnn_lstm` that change the speed only;
        :func:`speed_settings` of the run's size by default.
    verbose : int, default 2
        Keras progress: one line per epoch.
    variant : str, default "CNN-LSTM"
        One of :data:`ids_utils.models.VARIANTS`.
    lstm_activation : {"relu", "tanh"}, default "relu"
        The paper's ReLU, or tanh for the stabilised model
        (:data:`ids_utils.models.CNN_LSTMS`).
    stop_on_divergence : bool, default False
        End training after the first epoch whose loss the divergence guard calls a
        spike (:func:`ids_utils.diagnostics.is_loss_spike`): the run is marked
        diverged whatever follows, so its remaining epochs cost time and change no
        verdict.  The training chapter trains every epoch the paper names.

    Returns
    -------
    model : keras.Model
    history : pandas.DataFrame
        One row per epoch run: loss, accuracy, val_loss, val_accuracy, seconds.
    """
    _check_xy(x_train, y_train, "training")
    _check_xy(x_val, y_val, "validation")
    set_determinism(seed)
    model = build_model(
        variant,
        x_train.shape[1],
        learning_rate=learning_rate,
        lstm_activation=lstm_activation,
        **(speed_settings(len(x_train), epochs) if speed is None else speed),
    )
    timer = _EpochTimer()
    callbacks = [timer, _StopOnLossSpike()] if stop_on_divergence else [timer]
    result = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=verbose,
        callbacks=callbacks,
    )
    history = pd.DataFrame(result.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    history["seconds"] = timer.seconds
    return model, history


def train_detector(
    run_dir: str,
    seed: int,
    model: str,
    features: list[str],
    threshold: float,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    metadata: dict | None = None,
) -> dict:
    """Train one of the two CNN-LSTMs on a seed's split, check it, and save it.

    Reads the seed's training and validation parts and scaler from the run;
    writes the detector (``model.keras``) and ``history.csv`` to
    :func:`~ids_utils.artifacts.model_dir`.  A worker job
    (:func:`ids_utils.workers.run_jobs`).

    Parameters
    ----------
    model : str
        A key of :data:`ids_utils.models.CNN_LSTMS`.

    Returns
    -------
    dict
        ``model``, ``seed``, ``history`` (a DataFrame) and ``check``, the
        :func:`~ids_utils.diagnostics.divergence_check` of the run.
    """
    from .artifacts import model_dir, read_json
    from .detectors import save_detector
    from .models import CNN_LSTMS

    trained, history, check = _fit_on_split(
        run_dir, seed, model, threshold, epochs, batch_size, learning_rate
    )
    folder = model_dir(run_dir, seed, model)
    history.to_csv(folder / "history.csv", index=False)
    scaler = read_json(folder.parent / "scaler.json")
    save_detector(
        trained,
        folder / "model.keras",
        features,
        scaler,
        threshold,
        metadata={
            **(metadata or {}),
            "model": model,
            "seed": seed,
            "lstm_activation": CNN_LSTMS[model],
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "diverged": check["diverged"],
        },
    )
    return {"model": model, "seed": seed, "history": history, "check": check}


def retrain_test_probability(
    run_dir: str,
    seed: int,
    model: str,
    threshold: float,
    epochs: int,
    batch_size: int,
    learning_rate: float,
) -> dict:
    """Train a CNN-LSTM again exactly as :func:`train_detector` did, in this process's
    thread count and environment, and return its attack probability for each test flow.

    A worker job of :func:`ids_utils.compare.rerun_movement`, which measures how
    far the same seed's numbers move in a rerun with one thing changed.  Nothing
    is saved and no choice is made on the test set.

    Returns
    -------
    dict
        ``model``, ``seed``, ``probability`` (numpy.ndarray, test-set order) and
        ``diverged``.
    """
    from .artifacts import load_scaled_split

    trained, _, check = _fit_on_split(
        run_dir, seed, model, threshold, epochs, batch_size, learning_rate
    )
    x_test, _, _ = load_scaled_split(run_dir, seed, "test")
    return {
        "model": model,
        "seed": seed,
        "diverged": check["diverged"],
        "probability": trained.predict(x_test, batch_size=4096, verbose=0).ravel(),
    }


def _fit_on_split(
    run_dir: str,
    seed: int,
    model: str,
    threshold: float,
    epochs: int,
    batch_size: int,
    learning_rate: float,
):
    """Train a CNN-LSTM on a seed's scaled training part, watching the validation part,
    and check the run for divergence: (model, history, check)."""
    from .artifacts import load_scaled_split
    from .diagnostics import divergence_check
    from .models import CNN_LSTMS

    x_train, y_train, _ = load_scaled_split(run_dir, seed, "train")
    x_val, y_val, _ = load_scaled_split(run_dir, seed, "val")
    trained, history = train_cnn_lstm(
        x_train,
        y_train,
        x_val,
        y_val,
        seed=seed,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        verbose=0,
        lstm_activation=CNN_LSTMS[model],
    )
    check = divergence_check(
        history["loss"], trained.predict(x_val, batch_size=4096, verbose=0).ravel(), threshold
    )
    return trained, history, check


def runs_tables(runs: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The histories and the divergence checks of :func:`train_detector` runs as two tables.

    Returns
    -------
    histories : pandas.DataFrame
        One row per model, seed and epoch.
    checks : pandas.DataFrame
        One row per model and seed: ``diverged``, ``reasons`` (joined),
        ``max_train_loss``, ``val_probability_std``.
    """
    histories = pd.concat(
        [run["history"].assign(model=run["model"], seed=run["seed"]) for run in runs],
        ignore_index=True,
    )
    checks = pd.DataFrame(
        [
            {
                "model": run["model"],
                "seed": run["seed"],
                "diverged": run["check"]["diverged"],
                "reasons": "; ".join(run["check"]["reasons"]),
                "max_train_loss": run["check"]["max_train_loss"],
                "val_probability_std": run["check"]["val_probability_std"],
            }
            for run in runs
        ]
    )
    return histories, checks


def training_report(
    profile: str,
    seeds: list[int],
    epochs: int,
    batch_size: int,
    learning_rate: float,
    histories: pd.DataFrame,
    checks: pd.DataFrame,
) -> dict:
    """The content of ``training.json``: settings, and per model the last epoch and the
    divergence check of each seed."""
    last = histories[histories["epoch"] == histories["epoch"].max()]
    return {
        "profile": profile,
        "seeds": seeds,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "speed_settings": {
            **FAST_SETTINGS,
            "unroll": f"from {UNROLL_MIN_FLOW_EPOCHS:,} flow-epochs",
        },
        "models": {
            model: {
                "final_epoch": {
                    str(row.seed): {
                        k: float(getattr(row, k))
                        for k in ("loss", "accuracy", "val_loss", "val_accuracy")
                    }
                    for row in last[last["model"] == model].itertuples()
                },
                "diverged": {
                    str(row.seed): {"diverged": bool(row.diverged), "reasons": row.reasons}
                    for row in checks[checks["model"] == model].itertuples()
                },
            }
            for model in checks["model"].unique()
        },
    }


#: Training rows and epochs of each job of the parallelism benchmark (at most).
PARALLELISM_ROWS, PARALLELISM_EPOCHS = 8_000, 2


def seconds_to_train(
    x_train: np.ndarray, y_train: np.ndarray, seed: int, epochs: int, batch_size: int
) -> float:
    """Wall seconds of one training of the stabilised CNN-LSTM (a benchmark job)."""
    import time

    start = time.perf_counter()
    train_cnn_lstm(
        x_train,
        y_train,
        x_train[:batch_size],
        y_train[:batch_size],
        seed=seed,
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        lstm_activation="tanh",
    )
    return time.perf_counter() - start


def parallelism_jobs(
    x_train: np.ndarray, y_train: np.ndarray, batch_size: int, seeds=(0, 1)
) -> list[dict]:
    """Jobs for :func:`ids_utils.workers.benchmark_parallelism`: one small training per seed."""
    return [
        {
            "x_train": x_train[:PARALLELISM_ROWS],
            "y_train": y_train[:PARALLELISM_ROWS],
            "seed": seed,
            "epochs": PARALLELISM_EPOCHS,
            "batch_size": batch_size,
        }
        for seed in seeds
    ]


def benchmark_training_speed(
    x: np.ndarray,
    y: np.ndarray,
    n_rows: int,
    epochs: int,
    batch_size: int,
    configs: dict[str, dict] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Seconds per epoch and flows per second of training, for each speed setting.

    The rows are resampled (with replacement, seeded) to ``n_rows`` so that the
    timing is at the paper's training-set size whatever the data source.  Each
    setting trains ``epochs + 1`` epochs; the first, which includes tracing and
    compilation, is reported apart and not in the per-epoch figures.

    Parameters
    ----------
    configs : dict, optional
        Name -> keyword arguments of :func:`build_cnn_lstm`;
        :data:`SPEED_CONFIGS` by default.

    Returns
    -------
    pandas.DataFrame
        One row per setting: ``seconds_per_epoch``, ``flows_per_second``,
        ``gflops_per_second`` (achieved: three times the forward FLOPs of
        :func:`ids_utils.models.forward_flops_per_flow` per flow trained) and
        ``minutes_for_20_epochs``.
    """
    _check_xy(x, y, "benchmark")
    rng = np.random.default_rng(seed)
    configs = SPEED_CONFIGS if configs is None else configs
    rows = rng.integers(0, len(x), size=n_rows)
    x_big, y_big = x[rows], y[rows]
    results = []
    for name, settings in configs.items():
        set_determinism(seed)
        model = build_cnn_lstm(x.shape[1], **settings)
        timer = _EpochTimer()
        # The first epoch traces and compiles the graphs; the later ones are timed.
        model.fit(
            x_big, y_big, epochs=epochs + 1, batch_size=batch_size, verbose=0, callbacks=[timer]
        )
        per_epoch = float(np.mean(timer.seconds[1:]))
        results.append(
            {
                "setting": name,
                **{k: str(v) for k, v in settings.items()},
                "rows": n_rows,
                "batch_size": batch_size,
                "first_epoch_seconds": timer.seconds[0],
                "seconds_per_epoch": per_epoch,
                "flows_per_second": n_rows / per_epoch,
                "gflops_per_second": (
                    3 * forward_flops_per_flow(x.shape[1]) * n_rows / per_epoch / 1e9
                ),
                "minutes_for_20_epochs": 20 * per_epoch / 60,
            }
        )
    return pd.DataFrame(results)


def _check_xy(x: np.ndarray, y: np.ndarray, name: str) -> None:
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(
            f"{name} data: expected x of shape (n, features) and y of length n, "
            f"got {x.shape} and {y.shape}"
        )
    if len(x) == 0:
        raise ValueError(f"{name} data: no rows")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} data: x holds NaN or infinite values")


class _EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of each epoch."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


class _StopOnLossSpike(keras.callbacks.Callback):
    """Ends training after an epoch whose loss the divergence guard calls a spike
    (Keras' ``TerminateOnNaN`` never fires here: the diverging model makes no NaN)."""

    def on_epoch_end(self, epoch, logs=None):
        if is_loss_spike((logs or {}).get("loss")):
            self.model.stop_training = True
