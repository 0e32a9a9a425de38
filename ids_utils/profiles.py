"""Named parameter sets of a run.

``ci`` is small and fast, for tests and nbval; ``paper`` follows the paper's
settings.  The committed notebooks' ``parameters`` cells hold the ``ci``
values (a test checks it), so re-executing them as they are is a ``ci`` run.

``nslkdd_train_rows`` caps the official NSL-KDD training file (None: all of
it); ``cross_dataset_seeds`` are the seeds of the NSL-KDD chapter, one in the
paper profile: with the one-hot encoded features the CNN-LSTM reads sequences
of 122 steps, and one seed of both protocols at full scale took 51 minutes
on this machine's 2 cores (part of it sharing them with a test run).
Each CNN-LSTM's learning rate there is chosen on validation among
``nslkdd_learning_rates``, trained on ``nslkdd_choice_fraction`` of the paper
protocol's training part (a full-size training per candidate would double
the chapter's time).

``n_workers`` is the number of one-thread processes that train models side by
side (:mod:`ids_utils.workers`).  ``speed_settings`` are the settings the training-speed
benchmark times (the ``ci`` profile leaves out the unrolled loops, which only trainings
of the paper's size use), ``diagnostic_steps`` the optimiser steps of the step-by-step
diagnostics, ``latency_seconds`` each inference path's throughput measurement.

The sweep of the settings the paper does not give (``sweep_learning_rates`` x
``sweep_batch_sizes``, over ``sweep_seeds``) and the learning curves
(``curve_fractions`` of each training part, over ``curve_seeds``) are those of the
settings-and-scale chapter.
"""

from __future__ import annotations

PROFILES = {
    "ci": {
        "profile": "ci",
        "n_flows": 1_500,
        "benign_fraction": 0.9,
        "sample_seed": 42,
        "test_fraction": 0.2,
        "val_fraction": 0.1,
        "non_finite_policy": "drop",
        "seeds": [42],
        "epochs": 6,
        "batch_size": 32,
        "learning_rate": 0.001,
        "threshold": 0.5,
        "speed_rows": 2_000,
        "speed_epochs": 1,
        "speed_settings": ["Keras defaults", "8 batches per call"],
        "diagnostic_steps": 100,
        "svm_max_rows": 20_000,
        "latency_calls": 30,
        "latency_seconds": 0.2,
        "latency_all_cores": False,
        "stream_flows": 5_000,
        "nslkdd_train_rows": 1_500,
        "cross_dataset_seeds": [42],
        "nslkdd_learning_rates": [0.001, 0.0001],
        "nslkdd_choice_fraction": 0.5,
        "n_workers": 2,
        "sweep_learning_rates": [0.001, 0.0001],
        "sweep_batch_sizes": [32],
        "sweep_seeds": [42],
        "curve_fractions": [0.5, 1.0],
        "curve_seeds": [42],
    },
    "paper": {
        "profile": "paper",
        "n_flows": 100_000,
        "benign_fraction": 0.9,
        "sample_seed": 42,
        "test_fraction": 0.2,
        "val_fraction": 0.1,
        "non_finite_policy": "drop",
        "seeds": [42, 43, 44, 45, 46],
        "epochs": 20,
        "batch_size": 32,
        "learning_rate": 0.001,
        "threshold": 0.5,
        "speed_rows": 80_000,
        "speed_epochs": 2,
        "speed_settings": [
            "Keras defaults",
            "8 batches per call",
            "unrolled LSTM + 8 batches per call",
        ],
        "diagnostic_steps": 300,
        "svm_max_rows": 20_000,
        "latency_calls": 1_000,
        "latency_seconds": 1.0,
        "latency_all_cores": True,
        "stream_flows": 100_000,
        "nslkdd_train_rows": None,
        "cross_dataset_seeds": [42],
        "nslkdd_learning_rates": [0.001, 0.0003, 0.0001],
        "nslkdd_choice_fraction": 0.05,
        "n_workers": 2,
        "sweep_learning_rates": [0.001, 0.0003, 0.0001],
        "sweep_batch_sizes": [32, 128, 512],
        "sweep_seeds": [42, 43, 44],
        "curve_fractions": [0.05, 0.2, 1.0],
        "curve_seeds": [42],
    },
}


def get_profile(name: str) -> dict:
    """A copy of the named profile's parameters.

    Raises
    ------
    ValueError
        If no profile has that name.
    """
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    return {
        key: (list(value) if isinstance(value, list) else value)
        for key, value in PROFILES[name].items()
    }


#: The parameters that set how a model is trained and judged.
TRAINING_KEYS = (
    "epochs",
    "batch_size",
    "learning_rate",
    "threshold",
    "test_fraction",
    "val_fraction",
)


def training_settings(parameters: dict) -> dict:
    """The training settings (:data:`TRAINING_KEYS`) out of a notebook's parameters.

    Raises
    ------
    KeyError
        Naming the settings the parameters lack.
    """
    missing = [key for key in TRAINING_KEYS if key not in parameters]
    if missing:
        raise KeyError(f"training settings missing from the parameters: {missing}")
    return {key: parameters[key] for key in TRAINING_KEYS}
