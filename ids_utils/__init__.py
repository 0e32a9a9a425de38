"""Shared logic of the cnn-lstm-iot-ids replication.

One module per concern: ``datasets`` (schemas, reading, validation),
``sampling`` (the paper's sample), ``audit`` (composition of a source),
``acquire`` (mirror copy and official download), ``preprocess`` (NaN/inf
policy, split, scaling), ``profiles``, ``pipeline`` (papermill runner, book
build), ``artifacts`` (run files), ``plots`` (one seaborn style), ``cli``.
"""

__version__ = "0.1.0"
