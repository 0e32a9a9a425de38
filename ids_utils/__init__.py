"""Shared logic of the cnn-lstm-iot-ids replication.

One module per concern:

- data: ``schema`` (releases, labels, the error every reader raises),
  ``datasets`` (reading and validation), ``acquire`` (mirror copy and official
  download), ``sampling`` (the paper's sample), ``audit`` (composition of a
  source), ``preprocess`` (NaN/inf policy, split, scaling);
- models: ``models`` (the CNN-LSTM and its ablations), ``training``,
  ``diagnostics`` (the divergence guard), ``workers`` (trainings in one-thread
  processes), ``detectors`` (detector files, validation, the ONNX graph),
  ``runtimes`` (ONNX and LiteRT exports and their runners);
- results: ``evaluation``, ``baselines``, ``error_analysis``, ``experiments``
  (the Beyond-the-paper runs), ``tuning`` (the sweep of unstated settings),
  ``curves`` (learning curves), ``latency``, ``paper`` (the paper's claims, the
  only typed-in values), ``ledger``, ``compare`` (two runs side by side, and
  how far numbers move with the thread count), ``reports`` (each chapter's
  JSON report);
- scoring: ``flowcsv`` (the one CSV reader of the scorer), ``scoring``;
- running: ``profiles``, ``pipeline`` (papermill runner, book build), ``lanes``
  (the second lane of a run and its wall time),
  ``snippets`` (the Markdown the book's chapters include), ``stage_cache``,
  ``artifacts`` (run files), ``files`` (atomic writes, strict JSON), ``plots``
  (one seaborn style), ``prose`` (numbers typed into the book), ``cli``.
"""

import os

# Set before TensorFlow is imported anywhere in the process.  oneDNN's custom
# kernels change floating-point summation order, so keeping them off everywhere
# (CLI, tests, notebooks) gives the same numbers everywhere; the log level keeps
# TensorFlow's start-up chatter out of the notebooks and the command line.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
