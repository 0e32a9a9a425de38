"""Scoring flows with a saved detector: a CSV file, or rows streamed on a file descriptor.

Both modes read rows with :mod:`ids_utils.flowcsv` and score them with the
detector's ONNX graph on ONNX Runtime (one thread), so they agree on every
row, and neither imports TensorFlow once the graph is cached.

A row that cannot be scored (a malformed row, a non-finite or overflowing
value, an unknown label, a model output that is not a probability) is never
reported as benign: file mode writes it with status ``invalid`` and the
reason, stream mode writes an error record; both count it.  Exit statuses of
the ``score`` command: 0 every row scored, 2 some rows could not be scored,
1 nothing scored (an unusable model, header or input; one line on stderr).
"""

from __future__ import annotations

import csv
import json
import os
import select
import time
from pathlib import Path
from typing import TextIO

import numpy as np

from . import flowcsv
from .detectors import DetectorSpec, onnx_graph, read_detector
from .files import dumps
from .schema import DataError

#: Rows per block in file mode (one ONNX Runtime call each).
FILE_BLOCK_ROWS = 8192

#: Flows per ONNX Runtime call: the LSTM kernels run fastest on small batches that stay
#: in cache (measured here: batches of 64 outpace batches of 4,096 by about a third).
MODEL_BATCH = 64

#: Most lines a stream block holds: measured here, blocks of 512 score as many flows per
#: second as blocks of 4,096 while the first flow of a block waits an eighth as long.
STREAM_BLOCK_LINES = 512

#: Output columns of file mode (``family`` and ``attack`` follow when labelled).
SCORE_COLUMNS = ("line", "status", "probability", "prediction", "reason")


class Scorer:
    """A validated detector and its ONNX Runtime session.

    Parameters
    ----------
    model_path : str or Path
        A detector saved by :func:`ids_utils.detectors.save_detector`.
    threads : int, default 1
    """

    def __init__(self, model_path: str | Path, threads: int = 1):
        from .runtimes import OnnxRunner

        self.spec: DetectorSpec = read_detector(model_path)
        self.runner = OnnxRunner(onnx_graph(self.spec), threads=threads)

    @property
    def threshold(self) -> float:
        return self.spec.threshold

    def header(self, raw: bytes | str, source: str) -> flowcsv.Header:
        """Parse an input's header against this detector's features."""
        return flowcsv.parse_header(raw, self.spec.features, source)

    def parse(self, raw_lines, first_line: int, header: flowcsv.Header) -> flowcsv.Block:
        """Parse and scale a block of data rows (see :func:`ids_utils.flowcsv.parse_block`)."""
        return flowcsv.parse_block(raw_lines, first_line, header, self.spec.mean, self.spec.scale)

    def probabilities(self, block: flowcsv.Block) -> np.ndarray:
        """Attack probability of each row of a block; NaN where the row cannot be scored.

        A model output that is not a probability in [0, 1] (a diverged model
        can overflow) makes its row unscorable rather than benign.
        """
        probability = np.full(len(block.line), np.nan)
        valid = block.valid
        if valid.any():
            x = block.x[valid]
            probability[valid] = np.concatenate(
                [
                    self.runner(np.ascontiguousarray(x[start : start + MODEL_BATCH]))
                    for start in range(0, len(x), MODEL_BATCH)
                ]
            )
        for i in np.flatnonzero(valid & ~((probability >= 0) & (probability <= 1))):
            block.problem[i] = "the model gave no probability for this row"
            probability[i] = np.nan
        return probability


def describe_problem(block: flowcsv.Block, i: int) -> str:
    """One phrase for row ``i``'s problem, naming its column when there is one."""
    column = block.column[i]
    return f"column {column!r}: {block.problem[i]}" if column else block.problem[i]


def iter_file_lines(path: Path, block_rows: int):
    """(first line number, raw lines) blocks of a file after its header, and the header."""
    with open(path, "rb") as stream:
        header = stream.readline()
        if not header:
            raise DataError(path, "the file is empty (no header, no rows)")
        yield 1, [header.rstrip(b"\n")]
        line_number, lines = 2, []
        for raw in stream:
            lines.append(raw.rstrip(b"\n"))
            if len(lines) == block_rows:
                yield line_number, lines
                line_number, lines = line_number + len(lines), []
        if lines:
            yield line_number, lines


def score_file(
    model_path: str | Path, input_path: str | Path, out: TextIO, block_rows: int = FILE_BLOCK_ROWS
) -> dict:
    """Score every row of a CSV file, writing one CSV row per data row to ``out``.

    Parameters
    ----------
    model_path : str or Path
    input_path : str or Path
        A CSV file with a header holding the detector's features (either
        CICIoT2023 release, with or without labels; other columns are ignored).
    out : text stream
        Receives the columns :data:`SCORE_COLUMNS` (plus ``family`` and
        ``attack`` when the file has labels), rows in input order.

    Returns
    -------
    dict
        ``rows``, ``scored``, ``invalid``, ``blank_lines``, ``alerts``,
        ``first_invalid`` (line and reason) and, for a labelled file, ``metrics``:
        the Table 1 metrics over the scored rows at the detector's threshold.

    Raises
    ------
    DataError
        If the input is not a readable file or its header is unusable.
    """
    input_path = Path(input_path)
    if input_path.is_dir():
        raise DataError(input_path, "is a folder; give one CSV file")
    if not input_path.is_file():
        raise DataError(input_path, "no such file")
    scorer = Scorer(model_path)
    blocks = iter_file_lines(input_path, block_rows)
    header = scorer.header(next(blocks)[1][0], str(input_path))
    labelled = header.label_column is not None
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SCORE_COLUMNS + (("family", "attack") if labelled else ()))
    summary = {
        "rows": 0,
        "scored": 0,
        "invalid": 0,
        "blank_lines": 0,
        "alerts": 0,
        "first_invalid": None,
    }
    truth, scores = [], []
    for first_line, lines in blocks:
        block = scorer.parse(lines, first_line, header)
        probability = scorer.probabilities(block)
        summary["blank_lines"] += block.blank
        for i, line in enumerate(block.line.tolist()):
            extra = ()
            if labelled:
                family = block.family[i]
                extra = (family or "", "" if family is None else flowcsv.is_attack(family))
            if block.problem[i] is None:
                p = float(probability[i])
                alert = p >= scorer.threshold
                writer.writerow((line, "scored", p, int(alert), "") + extra)
                summary["alerts"] += alert
                if labelled:
                    truth.append(flowcsv.is_attack(block.family[i]))
                    scores.append(p)
            else:
                reason = describe_problem(block, i)
                writer.writerow((line, "invalid", "", "", reason) + extra)
                summary["invalid"] += 1
                if summary["first_invalid"] is None:
                    summary["first_invalid"] = {"line": line, "reason": reason}
        summary["rows"] += len(block.line)
    summary["scored"] = summary["rows"] - summary["invalid"]
    if summary["rows"] == 0:
        raise DataError(input_path, "the file has a header but no data rows")
    if labelled and scores:
        from .evaluation import binary_metrics

        summary["metrics"] = binary_metrics(np.asarray(truth), np.asarray(scores), scorer.threshold)
    return summary


def iter_available_lines(
    fd: int, max_lines: int = STREAM_BLOCK_LINES, max_delay: float = 0.002, read_size: int = 1 << 16
):
    """Yield ``(lines, arrival)`` blocks of complete lines from a file descriptor.

    A block starts with whatever one read returns; more is read while it keeps
    arriving, for at most ``max_delay`` seconds or until ``max_lines`` lines
    are complete, so a trickle of flows is never held back to fill a block.
    ``arrival`` holds, per line, the time (``time.perf_counter``) its line
    break arrived.
    """
    pending, eof = b"", False
    times: list[float] = []
    while not eof:
        data = os.read(fd, read_size)
        if not data:
            break
        now = time.perf_counter()
        pending += data
        times += [now] * data.count(b"\n")
        deadline = now + max_delay
        while len(times) < max_lines and (remaining := deadline - time.perf_counter()) > 0:
            if not select.select([fd], [], [], remaining)[0]:
                break
            data = os.read(fd, read_size)
            if not data:
                eof = True
                break
            pending += data
            times += [time.perf_counter()] * data.count(b"\n")
        *complete, pending = pending.split(b"\n")
        if complete:
            yield complete, np.asarray(times[: len(complete)])
            del times[: len(complete)]
    if pending:
        yield [pending], np.asarray([time.perf_counter()])


def stream_scores(
    model_path: str | Path,
    fd: int,
    out: TextIO,
    err: TextIO,
    max_delay: float = 0.002,
    max_lines: int = STREAM_BLOCK_LINES,
) -> dict:
    """Score CSV rows from a file descriptor as they arrive; one JSON line per row.

    The first line is the header (either CICIoT2023 release, labels optional).
    A scored row gives ``{"line", "probability", "alert"}`` (plus ``"family"``
    when the header has a label column); a row that cannot be scored gives
    ``{"line", "error"}`` (plus ``"column"``), never an alert-free probability.
    At the end a summary goes to ``err``: counts, the time from the first line
    read to the last score written, and per-flow latency percentiles (arrival
    of a line's end to its score being written).

    Raises
    ------
    DataError
        If the stream is empty or its header is unusable.
    """
    scorer = Scorer(model_path)
    header = None
    next_line = 1
    counts = {"flows": 0, "alerts": 0, "invalid": 0, "blank_lines": 0}
    latencies: list[np.ndarray] = []
    started = None
    for lines, arrival in iter_available_lines(fd, max_lines=max_lines, max_delay=max_delay):
        started = started or float(arrival[0])
        if header is None:
            header = scorer.header(lines[0], "<stdin>")
            lines, arrival, next_line = lines[1:], arrival[1:], 2
            if not lines:
                continue
        block = scorer.parse(lines, next_line, header)
        offsets = block.line - next_line  # where each row sits among this block's lines
        next_line += len(lines)
        probability = scorer.probabilities(block)
        records = []
        for i, line in enumerate(block.line.tolist()):
            if block.problem[i] is None:
                p = float(probability[i])
                alert = p >= scorer.threshold
                counts["alerts"] += alert
                # Written by hand for speed; a test parses every line with a strict reader.
                family = (
                    "" if block.family is None else f', "family": {json.dumps(block.family[i])}'
                )
                records.append(
                    f'{{"line": {line}, "probability": {p!r}, '
                    f'"alert": {"true" if alert else "false"}{family}}}'
                )
            else:
                record = {"line": line, "error": block.problem[i]}
                if block.column[i]:
                    record["column"] = block.column[i]
                counts["invalid"] += 1
                records.append(json.dumps(record))
        if records:
            out.write("\n".join(records) + "\n")
            out.flush()
        written = time.perf_counter()
        valid = block.valid
        counts["flows"] += int(valid.sum())
        counts["blank_lines"] += block.blank
        latencies.append(written - arrival[offsets[valid]])
    if header is None:
        raise DataError("<stdin>", "the stream is empty (no header line)")
    elapsed = time.perf_counter() - started if started else 0.0
    latency = np.concatenate(latencies) if latencies else np.empty(0)
    summary = {
        **counts,
        "seconds": round(elapsed, 4),
        "flows_per_second": round(counts["flows"] / elapsed, 1) if elapsed else None,
        "latency_ms": (
            {f"p{q}": round(float(np.percentile(latency, q)) * 1e3, 4) for q in (50, 90, 99)}
            if latency.size
            else {}
        ),
    }
    err.write(dumps({"summary": summary}) + "\n")
    return summary
