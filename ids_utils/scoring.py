"""Scoring flows from any CICIoT2023 CSV with a saved detector."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from . import datasets
from .evaluation import binary_metrics
from .models import load_detector


def score_file(model_path: str | Path, input_path: str | Path) -> tuple[pd.DataFrame, dict | None]:
    """Attack probability and prediction for every flow of a CSV file.

    Parameters
    ----------
    model_path : str or Path
        A detector saved by :func:`ids_utils.models.save_detector`.
    input_path : str or Path
        A CSV file of either CICIoT2023 release, with or without labels.

    Returns
    -------
    scores : pandas.DataFrame
        ``source_line``, ``probability``, ``prediction``, and ``attack`` and
        ``family`` when the file has labels.
    metrics : dict or None
        The Table 1 metrics at the detector's threshold when labels are present.

    Raises
    ------
    DataError
        If the file is unreadable, invalid, or lacks a feature the model needs.
    """
    detector = load_detector(model_path)
    flows = datasets.read_flows(input_path, labels_required=False)
    missing = [f for f in detector.features if f not in flows.columns]
    if missing:
        release = datasets.detect_release(datasets.read_header(input_path), input_path,
                                          labels_required=False)
        raise datasets.DataError(
            input_path, f"lacks {len(missing)} feature(s) the model was trained on: "
                        f"{', '.join(missing)} (the file is {release.name}; the model "
                        f"expects {len(detector.features)} features)", column=missing[0])
    probability = detector.predict_proba(flows)
    scores = pd.DataFrame({"source_line": flows["source_line"], "probability": probability,
                           "prediction": (probability >= detector.threshold).astype("int8")})
    labelled = flows["attack"].notna().all()
    if labelled:
        scores["attack"] = flows["attack"].astype("int8")
        scores["family"] = flows["family"]
    metrics = binary_metrics(scores["attack"], probability, detector.threshold) if labelled else None
    return scores, metrics


def iter_available_lines(fd: int, block: int = 1 << 16):
    """Yield lists of complete text lines as they arrive on a file descriptor.

    Each read returns what is available now: one line when flows trickle in,
    many when they pour in, so latency stays low and throughput high.
    """
    pending = b""
    while True:
        data = os.read(fd, block)
        if not data:
            break
        pending += data
        *complete, pending = pending.split(b"\n")
        if complete:
            yield [line.decode("utf-8", "replace").rstrip("\r") for line in complete]
    if pending.strip():
        yield [pending.decode("utf-8", "replace").rstrip("\r")]


def stream_scores(model_path: str | Path, fd: int, out: TextIO, err: TextIO) -> dict:
    """Score CSV rows from a file descriptor as they arrive; one JSON line per flow.

    The first line is the header (either CICIoT2023 release, labels optional).
    Each flow gives ``{"line", "probability", "alert"}`` (plus ``"label"`` when
    the header has a label column); a malformed row gives
    ``{"line", "error"}`` and the stream goes on.  At the end a summary with
    counts and per-flow latency percentiles goes to ``err``.

    Uses ONNX Runtime on one thread with the graph built on ONNX's LSTM
    operator, the fastest single-flow path of the latency benchmark; the ONNX
    file is cached beside the model.
    """
    from .latency import OnnxRunner, export_onnx_native

    detector = load_detector(model_path)
    onnx_path = Path(model_path).with_suffix(".onnx")
    if not onnx_path.is_file() or onnx_path.stat().st_mtime < Path(model_path).stat().st_mtime:
        export_onnx_native(detector.model, onnx_path)
    runner = OnnxRunner(onnx_path, threads=1)
    mean = np.asarray(detector.scaler["mean"], dtype="float64")
    scale = np.asarray(detector.scaler["scale"], dtype="float64")

    header, positions, label_at = None, None, None
    line_number, flows, alerts, malformed = 0, 0, 0, 0
    latencies: list[float] = []
    started = time.perf_counter()
    for lines in iter_available_lines(fd):
        arrived = time.perf_counter()
        records, to_score = [], []
        for text in lines:
            line_number += 1
            if header is None:
                header = next(csv.reader([text]))
                missing = [f for f in detector.features if f not in header]
                if missing:
                    raise datasets.DataError("<stdin>", "the header lacks feature(s) the model "
                                             f"needs: {', '.join(missing)}", column=missing[0],
                                             line=1)
                positions = [header.index(f) for f in detector.features]
                label_at = next((header.index(c) for c in ("label", "label_multiclass")
                                 if c in header), None)
                continue
            if not text.strip():
                continue
            problem, fields, values = _parse_row(text, header, positions, detector.features)
            record = {"line": line_number}
            records.append(record)
            if problem:
                malformed += 1
                record["error"] = problem
                continue
            if label_at is not None:
                record["label"] = fields[label_at]
            to_score.append((record, values))
        if to_score:
            x = ((np.array([values for _, values in to_score]) - mean) / scale).astype("float32")
            for (record, _), p in zip(to_score, runner(x)):
                record["probability"] = round(float(p), 6)
                record["alert"] = bool(p >= detector.threshold)
                alerts += record["alert"]
        flows += len(to_score)
        out.write("".join(json.dumps(record) + "\n" for record in records))
        out.flush()
        latencies += [time.perf_counter() - arrived] * len(to_score)
    elapsed = time.perf_counter() - started
    summary = {"flows": flows, "alerts": alerts, "malformed": malformed,
               "seconds": round(elapsed, 3),
               "flows_per_second": round(flows / elapsed, 1) if elapsed else None,
               "latency_ms": ({f"p{q}": round(float(np.percentile(latencies, q)) * 1e3, 4)
                               for q in (50, 90, 99)} if latencies else {})}
    err.write(json.dumps({"summary": summary}) + "\n")
    return summary


def _parse_row(text: str, header: list[str], positions: list[int], features: list[str],
               ) -> tuple[str | None, list[str], list[float] | None]:
    """(problem or None, the row's fields, the model's feature values)."""
    fields = next(csv.reader([text]), [])
    if len(fields) != len(header):
        return f"expected {len(header)} fields, found {len(fields)}", fields, None
    values = []
    for position, name in zip(positions, features):
        try:
            value = float(fields[position])
        except ValueError:
            return f"column {name!r}: non-numeric value {fields[position]!r}", fields, None
        if not np.isfinite(value):
            return f"column {name!r}: non-finite value {fields[position]!r}", fields, None
        values.append(value)
    return None, fields, values
