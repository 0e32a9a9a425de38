"""Inference latency and throughput of a saved detector along every inference path (Section 4.5).

Paths: Keras ``predict`` on one row (what a naive timing measures), Keras
``predict_on_batch``, a ``tf.function``, XLA with a fixed input shape, ONNX
Runtime on the model exported to ONNX (by Keras, and as a graph on ONNX's own
LSTM operator, see :func:`export_onnx_native`), and LiteRT on a TFLite conversion of
an unrolled copy of the model (the ReLU LSTM loop does not convert to built-in
ops; the unrolled copy, with the same weights, does).

The exports and their runners are :mod:`ids_utils.runtimes`, which the scorer
uses too.  Each exported model is checked against Keras on real flows before it
is timed.

TensorFlow fixes its thread pools when it starts, so one process measures one
thread count: :func:`configure_threads` must run before TensorFlow does anything.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .runtimes import LiteRTRunner, OnnxRunner, export_litert, export_onnx, export_onnx_native

#: Largest allowed difference between an exported model's probabilities and Keras'.
TOLERANCE = 1e-5

PATHS = (
    "Keras predict",
    "Keras predict_on_batch",
    "tf.function",
    "XLA",
    "ONNX Runtime (Keras export)",
    "ONNX Runtime (LSTM operator)",
    "LiteRT",
)


def configure_threads(threads: int) -> None:
    """Limit TensorFlow to ``threads`` intra-op threads (call before any TensorFlow work)."""
    import tensorflow as tf

    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def build_runners(model, threads: int, folder: str | Path) -> dict[str, Callable]:
    """One callable per inference path; exported files are written to ``folder``."""
    import tensorflow as tf

    folder = Path(folder)
    n_features = model.input_shape[1]
    graph = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    xla_single = tf.function(
        lambda x: model(x, training=False),
        jit_compile=True,
        input_signature=[tf.TensorSpec([1, n_features], tf.float32)],
    )
    xla_any = tf.function(lambda x: model(x, training=False), jit_compile=True)
    onnx = OnnxRunner(export_onnx(model, folder / "model.onnx"), threads)
    onnx_native = OnnxRunner(export_onnx_native(model, folder / "model_lstm_op.onnx"), threads)
    litert = LiteRTRunner(export_litert(model, folder / "model.tflite"), threads)
    return {
        "Keras predict": lambda x: model.predict(x, verbose=0).ravel(),
        "Keras predict_on_batch": lambda x: np.asarray(model.predict_on_batch(x)).ravel(),
        "tf.function": lambda x: graph(x).numpy().ravel(),
        "XLA": lambda x: (xla_single(x) if len(x) == 1 else xla_any(x)).numpy().ravel(),
        "ONNX Runtime (Keras export)": onnx,
        "ONNX Runtime (LSTM operator)": onnx_native,
        "LiteRT": litert,
    }


def max_difference(
    runner: Callable, reference: np.ndarray, x: np.ndarray, batch: int = 1024
) -> float:
    """Largest absolute difference between a runner's probabilities and the reference."""
    outputs = np.concatenate([runner(x[i : i + batch]) for i in range(0, len(x), batch)])
    if not np.isfinite(outputs).all():
        return float("inf")
    return float(np.abs(outputs - reference).max())


def time_single(runner: Callable, x: np.ndarray, calls: int, warmup: int = 50) -> np.ndarray:
    """Seconds of each of ``calls`` one-flow calls (flows taken in turn from ``x``), after
    ``warmup`` untimed calls (no more than ``calls``)."""
    warmup = min(warmup, calls)
    rows = [x[i % len(x)][None, :] for i in range(calls + warmup)]
    for row in rows[:warmup]:
        runner(row)
    seconds = np.empty(calls)
    for i, row in enumerate(rows[warmup:]):
        start = time.perf_counter()
        runner(row)
        seconds[i] = time.perf_counter() - start
    return seconds


def time_batched(runner: Callable, x: np.ndarray, batch: int, min_seconds: float = 1.0) -> float:
    """Flows per second scoring batches of ``batch`` flows, for at least ``min_seconds``."""
    data = np.resize(x, (batch, x.shape[1])).astype("float32")
    runner(data)
    flows, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds:
        runner(data)
        flows += batch
    return flows / elapsed


def benchmark(
    model,
    x: np.ndarray,
    threads: int,
    calls: int = 1000,
    batch: int = 4096,
    paths: tuple[str, ...] = PATHS,
    folder: str | Path | None = None,
    batch_seconds: float = 1.0,
) -> dict:
    """Latency and throughput of every path, with each export's agreement with Keras.

    Parameters
    ----------
    model : keras.Model
    x : numpy.ndarray
        Scaled real flows (the test set), float32.
    threads : int
        The thread count the process was configured with (reported).
    calls : int, default 1000
        Timed one-flow calls per path, after a warm-up.
    batch : int, default 4096
        Flows per call in the throughput measurement.
    batch_seconds : float, default 1.0
        Seconds (at least) of batched calls each path's throughput is measured over.

    Returns
    -------
    dict
        ``machine``, ``threads``, and per path: ``median_ms``, ``p99_ms``,
        ``flows_per_second`` and ``max_abs_difference`` (against Keras).
    """
    x = np.ascontiguousarray(x, dtype="float32")
    reference = model.predict(x, batch_size=4096, verbose=0).ravel()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        runners = build_runners(model, threads, folder or scratch)
        for name in paths:
            runner = runners[name]
            seconds = time_single(runner, x, calls)
            difference = max_difference(runner, reference, x)
            results[name] = {
                "median_ms": float(np.median(seconds) * 1e3),
                "p99_ms": float(np.percentile(seconds, 99) * 1e3),
                "flows_per_second": time_batched(runner, x, batch, batch_seconds),
                "max_abs_difference": difference,
                "agrees_with_keras": bool(difference <= TOLERANCE),
                "calls": calls,
            }
    return {
        "machine": machine_description(),
        "threads": threads,
        "batch": batch,
        "flows_checked": int(len(x)),
        "paths": results,
    }


def machine_description() -> dict:
    """CPU model and core count of this machine."""
    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform()}


def run_cli(
    model_path: str | Path, flows_path: str | Path, threads: int, calls: int, seconds: float = 1.0
) -> dict:
    """Run ``python -m ids_utils latency --json`` in a fresh process (one thread count each)."""
    import json
    import subprocess
    import sys

    command = [
        sys.executable,
        "-m",
        "ids_utils",
        "latency",
        "--model",
        str(model_path),
        "--flows",
        str(flows_path),
        "--threads",
        str(threads),
        "--calls",
        str(calls),
        "--seconds",
        str(seconds),
        "--json",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"latency benchmark failed: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads(result.stdout)


def csv_lines(frame, features) -> tuple[str, list[str]]:
    """A header and one CSV line per flow of ``frame``, as a gateway would send them."""
    rows = frame[list(features)].to_csv(index=False, header=False).splitlines()
    return ",".join(features), rows


def _stream_command(model_path, max_delay_ms: float) -> list[str]:
    import sys

    return [
        sys.executable,
        "-m",
        "ids_utils",
        "score",
        "--model",
        str(model_path),
        "--stream",
        "--max-delay-ms",
        str(max_delay_ms),
    ]


def stream_throughput(
    model_path: str | Path, header: str, rows: list[str], n_flows: int, max_delay_ms: float = 2.0
) -> dict:
    """Pipe ``n_flows`` flows (``rows`` repeated) through ``score --stream`` at once.

    Returns the stream's own summary (steady state: first line read to last
    score written) with ``end_to_end_flows_per_second``: flows over the wall
    time from starting the process to its exit, start-up included.
    """
    import json
    import subprocess

    lines = (rows * -(-n_flows // len(rows)))[:n_flows]
    text = (header + "\n" + "\n".join(lines) + "\n").encode()
    started = time.perf_counter()
    result = subprocess.run(
        _stream_command(model_path, max_delay_ms), input=text, capture_output=True
    )
    wall = time.perf_counter() - started
    if result.returncode:
        raise RuntimeError(f"stream failed: {result.stderr.decode().strip().splitlines()[-1:]}")
    summary = json.loads(result.stderr.decode().strip().splitlines()[-1])["summary"]
    return {
        **summary,
        "wall_seconds": round(wall, 4),
        "end_to_end_flows_per_second": round(summary["flows"] / wall, 1),
    }


def stream_under_load(
    model_path: str | Path,
    header: str,
    rows: list[str],
    rate: float | None,
    n_flows: int,
    max_delay_ms: float = 2.0,
) -> dict:
    """Per-flow latency of ``score --stream`` fed at ``rate`` flows/s by a paced generator.

    Latency is measured outside the scorer: from the moment a flow's line is
    written into the pipe to the moment its JSON line is read back.  ``rate``
    None sends as fast as the pipe takes the lines.  Also returns the start-up
    time: from starting the process to reading the score of a first flow.
    """
    import subprocess
    import threading

    process = subprocess.Popen(
        _stream_command(model_path, max_delay_ms),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,
    )
    started = time.perf_counter()
    process.stdin.write((header + "\n" + rows[0] + "\n").encode())
    if not process.stdout.readline():
        raise RuntimeError("the stream scorer exited before scoring a first flow")
    startup = time.perf_counter() - started

    lines = [(row + "\n").encode() for row in (rows * -(-n_flows // len(rows)))[:n_flows]]
    sent, received = np.zeros(n_flows), np.zeros(n_flows)

    def read():
        for i in range(n_flows):
            if not process.stdout.readline():
                return
            received[i] = time.perf_counter()

    reader = threading.Thread(target=read)
    reader.start()
    first = time.perf_counter()
    i = 0
    while i < n_flows:
        # Every line due by now goes out in one write (at most a pipe's worth).
        due = (
            n_flows if rate is None else min(n_flows, int((time.perf_counter() - first) * rate) + 1)
        )
        due = min(due, i + 4096)
        if due > i:
            now = time.perf_counter()
            process.stdin.write(b"".join(lines[i:due]))
            sent[i:due] = now
            i = due
        elif rate is not None:
            time.sleep(max(0.0, min(1e-3, (i + 1) / rate - (time.perf_counter() - first))))
    process.stdin.close()
    reader.join()
    process.wait()
    if not received.all():
        raise RuntimeError("the stream scorer did not score every flow")
    latency = (received - sent) * 1e3
    elapsed = received.max() - first
    return {
        "rate": rate,
        "flows": n_flows,
        "startup_seconds": round(startup, 4),
        "achieved_flows_per_second": round(n_flows / elapsed, 1),
        "latency_ms": {f"p{q}": round(float(np.percentile(latency, q)), 3) for q in (50, 90, 99)},
        "max_delay_ms": max_delay_ms,
    }


#: Input rates (flows/s) of the load test; None is "as fast as the pipe takes them".
LOAD_RATES = (1_000, 10_000, None)


def stream_benchmark(model_paths: dict, frame, n_flows: int, rates=LOAD_RATES) -> dict:
    """The streaming scorer, measured from outside as a gateway would run it.

    Parameters
    ----------
    model_paths : dict
        Model name -> detector file; every model's throughput is measured, the
        load test runs on the last one.
    frame : pandas.DataFrame
        Real flows (raw features); repeated to ``n_flows`` lines.
    n_flows : int
        Flows piped in the throughput run; a load-test rate runs for about two
        seconds (at most ``n_flows`` flows).

    Returns
    -------
    dict
        ``throughput`` per model (:func:`stream_throughput`, plus
        ``model_flows_per_second``: the ONNX graph alone on one thread, the
        ceiling any scorer of this model meets here) and ``under_load``, one
        entry per rate (:func:`stream_under_load`).
    """
    from .detectors import onnx_graph, read_detector
    from .scoring import MODEL_BATCH

    throughput, path = {}, None
    for model, path in model_paths.items():
        spec = read_detector(path)
        header, rows = csv_lines(frame, spec.features)
        x = (frame[list(spec.features)].to_numpy("float64") - spec.mean) / spec.scale
        runner = OnnxRunner(onnx_graph(spec), threads=1)
        throughput[model] = {
            **stream_throughput(path, header, rows, n_flows),
            "model_flows_per_second": round(
                time_batched(runner, x.astype("float32"), MODEL_BATCH), 1
            ),
        }
    load = [
        stream_under_load(
            path, header, rows, rate, min(n_flows, 20_000 if rate is None else int(2 * rate))
        )
        for rate in rates
    ]
    return {"throughput": throughput, "under_load": load, "load_model": model}


def stream_tables(result: dict):
    """The stream benchmark as two frames: throughput per model, latency per input rate."""
    throughput = pd.DataFrame(
        {
            model: {
                "flows piped": r["flows"],
                "invalid rows": r["invalid"],
                "steady flows/s": r["flows_per_second"],
                "end-to-end flows/s (start-up included)": r["end_to_end_flows_per_second"],
                "ONNX graph alone, flows/s": r["model_flows_per_second"],
            }
            for model, r in result["throughput"].items()
        }
    ).T
    load = pd.DataFrame(
        [
            {
                "input rate (flows/s)": "as fast as possible"
                if r["rate"] is None
                else f"{r['rate']:,}",
                "achieved flows/s": r["achieved_flows_per_second"],
                "start-up to first score (s)": r["startup_seconds"],
                **{f"latency {q} (ms)": v for q, v in r["latency_ms"].items()},
            }
            for r in result["under_load"]
        ]
    )
    return throughput, load


def stream_summary(result: dict, paper_ms: float, paper_rate: float) -> str:
    """What the stream benchmark says, in two sentences with its numbers."""
    model = result["load_model"]
    throughput = result["throughput"][model]
    slow = next((r for r in result["under_load"] if r["rate"] is not None), None)
    startup = np.median([r["startup_seconds"] for r in result["under_load"]])
    text = (
        f"Piped {throughput['flows']:,} flows, the streaming scorer ({model}) sustains "
        f"{throughput['flows_per_second']:,.0f} flows per second "
        f"({throughput['flows_per_second'] / paper_rate:.0f} times the paper's "
        f"{paper_rate:.0f}), {throughput['end_to_end_flows_per_second']:,.0f} end to end with "
        f"its start-up of about {startup:.2f} s; its ONNX graph alone scores "
        f"{throughput['model_flows_per_second']:,.0f} flows per second on one thread, the "
        "ceiling of any scorer of this model here, so the arithmetic of the two LSTMs, not "
        "the reading of CSV, bounds the rate."
    )
    if slow is not None:
        text += (
            f" Fed {slow['rate']:,} flows per second, a flow waits "
            f"{slow['latency_ms']['p50']:.2f} ms (median; p99 "
            f"{slow['latency_ms']['p99']:.2f} ms) from its line entering the pipe to its "
            f"score leaving it, against the paper's {paper_ms} ms of inference alone."
        )
    return text


def latency_summary(table: pd.DataFrame, stream: dict, paper_ms: float, paper_rate: float) -> str:
    """The latency chapter's answer in words: the naive and the fastest single-flow paths
    against the paper's latency, the best batched throughput against its rate, then the
    streaming scorer (:func:`stream_summary`).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per model, path and thread count: ``median_ms``, ``flows_per_second``.
    stream : dict
        :func:`stream_benchmark`'s result.
    """
    one_thread = table[table["threads"] == 1]
    fastest = one_thread.loc[one_thread["median_ms"].idxmin()]
    naive = one_thread[one_thread["path"] == "Keras predict"]["median_ms"].median()
    best_rate = table["flows_per_second"].max()
    text = (
        f"On this machine, Keras `predict` on one flow takes {naive:.2f} ms "
        f"({naive / paper_ms:.1f} times the paper's {paper_ms} ms); the fastest path, "
        f"{fastest['path']} ({fastest['model']}), takes {fastest['median_ms'] * 1000:.0f} µs on "
        f"one thread, {paper_ms / fastest['median_ms']:.0f} times under the paper's figure. "
        f"Batched, the best path scores {best_rate:,.0f} flows per second, "
        f"{best_rate / paper_rate:.0f} times the paper's {paper_rate:.0f}. "
        "The two CNN-LSTMs cost the same: they differ only in the LSTM activation."
    )
    return text + " " + stream_summary(stream, paper_ms, paper_rate)
