"""Shared logic of the cnn-lstm-iot-ids replication.

One module per concern: ``datasets`` (schemas, reading, validation),
``sampling`` (the paper's sample), ``audit`` (composition of a source),
``acquire`` (mirror copy and official download), ``preprocess`` (NaN/inf
policy, split, scaling), ``models`` (the CNN-LSTM, detector files),
``training``, ``evaluation``, ``paper`` (the paper's claims), ``scoring``,
``profiles``, ``pipeline`` (papermill runner, book build), ``artifacts`` (run
files), ``plots`` (one seaborn style), ``cli``.
"""

import os

# Set before TensorFlow is imported anywhere in the process.  oneDNN's custom
# kernels change floating-point summation order, so keeping them off everywhere
# (CLI, tests, notebooks) gives the same numbers everywhere; the log level keeps
# TensorFlow's start-up chatter out of the notebooks and the command line.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
