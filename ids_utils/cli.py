"""Command line: ``python -m ids_utils <command> ...``.

Exit statuses: 0 success; 1 an error (a bad argument, an unusable file, an
operating-system error), reported in one line on stderr, never a traceback;
2 from ``score`` only: the input was scored but some rows could not be (they
are reported, never counted as benign).

Modules are imported by the command that needs them, so ``score --stream``
starts without pandas or TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .files import dumps
from .profiles import PROFILES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_MIRROR = PROJECT_ROOT.parent / "shared" / "data"

#: Exit status of ``score`` when some rows could not be scored.
EXIT_INVALID_ROWS = 2


class _Parser(argparse.ArgumentParser):
    """argparse with exit status 1 and one line for a bad argument (argparse uses 2)."""

    def error(self, message):
        self.exit(1, f"error: {self.prog}: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("error: the output was closed before everything was written", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except _known_errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _known_errors() -> tuple[type[Exception], ...]:
    """The project's own error types (DataError and DetectorFileError are ValueErrors)."""
    errors = [ValueError]
    for module, name in (
        ("ids_utils.acquire", "AcquireError"),
        ("ids_utils.pipeline", "PipelineError"),
    ):
        if module in sys.modules:  # an error type whose module was never imported never occurs
            errors.append(getattr(sys.modules[module], name))
    return tuple(errors)


def _positive(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def _non_negative(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 0, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 600 s, got {text!r}")
    return value


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60_000:
        raise argparse.ArgumentTypeError(f"must be between 0 and 60000 ms, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m ids_utils", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check-data", help="validate and describe data files")
    check.add_argument(
        "paths", nargs="+", type=Path, help="CICIoT2023 CSV files or folders, or NSL-KDD .txt files"
    )
    check.add_argument("--json", action="store_true", help="print one JSON document")
    check.set_defaults(func=_check_data)

    fetch = commands.add_parser("fetch-data", help="put the raw files in place")
    fetch.add_argument(
        "--mirror",
        type=Path,
        default=None,
        help=f"local mirror folder (default: {DEFAULT_MIRROR} when it exists)",
    )
    fetch.add_argument(
        "--dest", type=Path, default=DEFAULT_DATA_DIR, help="data folder (default: %(default)s)"
    )
    fetch.add_argument(
        "--official",
        action="store_true",
        help="download the official CICIoT2023 part files even if a mirror exists",
    )
    fetch.add_argument(
        "--base-url",
        default=None,
        help="where the official part files live (default: the official site)",
    )
    fetch.add_argument(
        "--parts",
        type=_positive,
        default=None,
        help="download only the first N part files (default: all)",
    )
    fetch.add_argument(
        "--retries",
        type=_non_negative,
        default=3,
        help="extra attempts per file (default: %(default)s)",
    )
    fetch.set_defaults(func=_fetch_data)

    pipe = commands.add_parser("pipeline", help="run the notebooks in order")
    pipe.add_argument("--profile", choices=sorted(PROFILES), required=True)
    pipe.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    pipe.add_argument("--run-dir", type=Path, default=None, help="default: runs/<profile>")
    pipe.add_argument(
        "--source",
        default="auto",
        help="CICIoT2023 folder or file (default: the best under --data-dir)",
    )
    pipe.add_argument(
        "--stages",
        nargs="+",
        metavar="NN",
        help="execute only these stages (e.g. 09 10) in an existing run",
    )
    pipe.add_argument(
        "--force",
        action="store_true",
        help="execute every stage even when the stage cache holds it",
    )
    pipe.add_argument(
        "--fresh",
        action="store_true",
        help="with --stages: start from an empty run directory (a run of those stages alone)",
    )
    pipe.add_argument(
        "--cache-dir", type=Path, default=None, help="the stage cache (default: runs/cache)"
    )
    pipe.set_defaults(func=_pipeline)

    score = commands.add_parser("score", help="score the flows of a CSV with a saved model")
    score.add_argument("--model", type=Path, required=True, help="a .keras detector")
    score.add_argument("--input", type=Path, default=None, help="a CICIoT2023 CSV file")
    score.add_argument(
        "--stream",
        action="store_true",
        help="read CSV rows from stdin (header first), one JSON line per flow",
    )
    score.add_argument(
        "--output",
        type=Path,
        default=None,
        help="write per-row status, probability and prediction to this CSV (written atomically)",
    )
    score.add_argument(
        "--max-delay-ms",
        type=_milliseconds,
        default=2.0,
        help="stream mode: longest wait for more rows before scoring a block "
        "(default: %(default)s)",
    )
    score.set_defaults(func=_score)

    latency = commands.add_parser("latency", help="latency and throughput of a saved model")
    latency.add_argument("--model", type=Path, required=True, help="a .keras detector")
    latency.add_argument(
        "--flows",
        type=Path,
        default=None,
        help="flows to time and check the exports on: a CICIoT2023 CSV, "
        "or a split's .parquet (default: the bundled merged sample)",
    )
    latency.add_argument(
        "--threads",
        type=_positive,
        default=os.cpu_count(),
        help="CPU threads (default: all, %(default)s)",
    )
    latency.add_argument(
        "--calls",
        type=_positive,
        default=1000,
        help="timed one-flow calls per path (default: %(default)s)",
    )
    latency.add_argument(
        "--seconds",
        type=_seconds,
        default=1.0,
        help="seconds of batched scoring per path for the throughput (default: %(default)s)",
    )
    latency.add_argument("--json", action="store_true", help="print the results as JSON")
    latency.set_defaults(func=_latency)

    refresh = commands.add_parser(
        "refresh-notebooks", help="re-execute the committed notebooks in place (ci)"
    )
    refresh.add_argument(
        "--stages",
        nargs="+",
        metavar="NN",
        help="only these notebooks (e.g. 09 12); earlier stages' outputs "
        "must already be in runs/ci",
    )
    refresh.set_defaults(func=_refresh_notebooks)

    compare = commands.add_parser(
        "compare-runs", help="compare two runs' ledgers (and machines) row by row"
    )
    compare.add_argument("run_a", type=Path, help="the reference run (e.g. the published one)")
    compare.add_argument("run_b", type=Path, help="the rerun")
    compare.add_argument("--json", action="store_true", help="print one JSON document")
    compare.set_defaults(func=_compare_runs)

    book = commands.add_parser("build-book", help="build the HTML book from a run")
    book.add_argument("--run-dir", type=Path, required=True)
    book.add_argument("--strict", action="store_true", help="warnings are errors")
    book.add_argument(
        "--output",
        type=Path,
        default=PROJECT_ROOT,
        help="the HTML goes to OUTPUT/_build/html (default: the project)",
    )
    book.set_defaults(func=_build_book)
    return parser


def _check_data(args) -> int:
    reports = [_check_one(file) for path in args.paths for file in _expand(path)]
    if args.json:
        print(dumps(reports, indent=2))
    else:
        for report in reports:
            print(_format_check(report))
    return 0


def _expand(path: Path) -> list[Path]:
    from . import datasets

    if path.is_dir():
        # Validates that the folder holds a single release before reading rows.
        return datasets.detect_source(path)[1]
    return [path]


def _check_one(file: Path) -> dict:
    from . import datasets
    from .audit import SourceSummary

    if file.suffix.lower() == ".txt":
        frame = datasets.read_nsl_kdd(file)
        features = [f for f in datasets.NSL_KDD_FEATURES if f not in datasets.NSL_KDD_CATEGORICAL]
        release = "nsl-kdd"
        chunks = [frame]
    else:
        release_obj = datasets.detect_release(datasets.read_header(file), file)
        features = list(release_obj.features)
        release = release_obj.name
        chunks = datasets.iter_flow_chunks(file)
    summary = SourceSummary(features)
    for chunk in chunks:
        summary.add(chunk)
    return {"file": str(file), "release": release, **summary.to_dict()}


def _format_check(report: dict) -> str:
    lines = [
        f"{report['file']}: {report['release']}, {report['rows']:,} rows "
        f"({report['benign']:,} benign, {report['attack']:,} attack)"
    ]
    for key in ("family_counts", "fine_label_counts"):
        if report[key]:
            counts = ", ".join(f"{k} {v:,}" for k, v in report[key].items())
            lines.append(f"  {key.replace('_', ' ')}: {counts}")
    for key in ("nan_per_feature", "inf_per_feature", "negative_per_feature"):
        values = report[key]
        shown = ", ".join(f"{k} {v:,}" for k, v in values.items()) if values else "none"
        lines.append(f"  {key.replace('_', ' ')}: {shown}")
    lines.append(
        f"  exact duplicate rows: {report['duplicate_rows']:,}; duplicate feature "
        f"vectors: {report['duplicate_feature_rows']:,}; with conflicting labels: "
        f"{report['conflicting_feature_vectors']:,}"
    )
    lines.append(f"  constant features: {', '.join(report['constant_features']) or 'none'}")
    return "\n".join(lines)


def _fetch_data(args) -> int:
    from . import acquire

    mirror = args.mirror or (DEFAULT_MIRROR if DEFAULT_MIRROR.is_dir() else None)
    if args.mirror is not None and not args.mirror.is_dir():
        raise acquire.AcquireError(f"{args.mirror}: mirror folder does not exist")
    if mirror is not None and not args.official:
        if args.parts is not None:
            raise ValueError(
                "--parts applies to downloads; add --official (a mirror is copied whole)"
            )
        done = acquire.copy_from_mirror(mirror, args.dest)
    else:
        names = acquire.official_part_names(args.parts or acquire.OFFICIAL_PART_COUNT)
        done = acquire.download_official(
            args.dest,
            base_url=args.base_url or acquire.OFFICIAL_BASE_URL,
            names=names,
            retries=args.retries,
        )
    for item in done:
        print(f"{item['action']:>10}  {item['dest']}")
    return 0


def _pipeline(args) -> int:
    from .pipeline import run_pipeline

    run_dir = run_pipeline(
        args.profile,
        data_dir=args.data_dir,
        run_dir=args.run_dir,
        source=args.source,
        stages=args.stages,
        force=args.force,
        cache_dir=args.cache_dir,
        fresh=args.fresh,
    )
    print(run_dir)
    return 0


def _compare_runs(args) -> int:
    """Exit status 0 when every verdict agrees, 1 otherwise."""
    from .compare import bitwise_expected, compare_runs, read_machine

    for run in (args.run_a, args.run_b):
        if not (run / "artifacts").is_dir():
            raise ValueError(f"{run}: not a run folder (no artifacts/)")
    table = compare_runs(args.run_a, args.run_b)
    machines = [read_machine(run) for run in (args.run_a, args.run_b)]
    expected, differences = (
        bitwise_expected(*machines) if all(machines) else (False, ["a run without machine.json"])
    )
    agree = bool(table["same_verdict"].all())
    if args.json:
        print(
            dumps(
                {
                    "rows": table.to_dict(orient="records"),
                    "verdicts_agree": agree,
                    "bitwise_expected": expected,
                    "machine_differences": differences,
                },
                indent=2,
            )
        )
        return 0 if agree else 1
    for row in table.itertuples():
        within = {True: "within A's interval", False: "outside A's interval", None: "no interval"}[
            row.b_within_a
        ]
        change = (
            row.verdict_a
            if row.same_verdict
            else f"{row.verdict_a} -> {row.verdict_b}  (VERDICT CHANGED)"
        )
        model = f" [{row.model}]" if row.model else ""
        print(f"{row.claim}{model}: A {_short(row.a)}, B {_short(row.b)} ({within}); {change}")
    print(
        f"{int(table['same_verdict'].sum())} of {len(table)} verdicts agree; bitwise-identical "
        f"numbers {'expected' if expected else 'not expected'}"
        + (
            f" (the runs differ in: {', '.join(differences)})"
            if differences
            else " (same machine type, threads and packages)"
        )
    )
    return 0 if agree else 1


def _short(value) -> str:
    if isinstance(value, float):
        return "-" if value != value else f"{value:.4g}"
    return "-" if value is None else str(value)


def _build_book(args) -> int:
    from .pipeline import build_book

    print(build_book(args.run_dir, strict=args.strict, output_dir=args.output))
    return 0


def _score(args) -> int:
    from .files import atomic_write
    from .scoring import score_file, stream_scores

    if args.stream == (args.input is not None):
        raise ValueError("give either --input CSV or --stream (rows on stdin), not both")
    if args.stream:
        if args.output is not None:
            raise ValueError("--output is for --input files; --stream writes to stdout")
        summary = stream_scores(
            args.model,
            sys.stdin.fileno(),
            sys.stdout,
            sys.stderr,
            max_delay=args.max_delay_ms / 1e3,
        )
        return EXIT_INVALID_ROWS if summary["invalid"] else 0
    if args.output is not None:
        if args.output.is_dir():
            raise ValueError(f"{args.output}: is a folder; --output takes a file name")
        args.output.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(args.output) as out:
            summary = score_file(args.model, args.input, out)
    elif _labelled(args):
        with open(os.devnull, "w") as out:
            summary = score_file(args.model, args.input, out)
    else:
        summary = score_file(args.model, args.input, sys.stdout)
    if "metrics" in summary:
        print(dumps(summary["metrics"], indent=2))
    if summary["invalid"]:
        first = summary["first_invalid"]
        print(
            f"error: {args.input}: {summary['invalid']:,} of {summary['rows']:,} row(s) could "
            f"not be scored and are marked invalid (first: line {first['line']}, "
            f"{first['reason']})",
            file=sys.stderr,
        )
        return EXIT_INVALID_ROWS
    return 0


def _labelled(args) -> bool:
    """Whether the input has a label column (then metrics are printed, not scores)."""
    from .flowcsv import LABEL_COLUMNS, header_columns
    from .schema import DataError

    try:
        with open(args.input, "rb") as stream:
            first = stream.readline().rstrip(b"\n")
    except IsADirectoryError:
        raise DataError(args.input, "is a folder; give one CSV file") from None
    except FileNotFoundError:
        raise DataError(args.input, "no such file") from None
    return any(column in LABEL_COLUMNS for column in header_columns(first, str(args.input)))


def _latency(args) -> int:
    import pandas as pd

    from . import datasets, latency
    from .preprocess import scale

    latency.configure_threads(args.threads)
    from .detectors import load_detector

    detector = load_detector(args.model)
    flows_path = args.flows or DEFAULT_DATA_DIR / "ciciot2023" / "merged"
    flows = (
        pd.read_parquet(flows_path)
        if flows_path.suffix == ".parquet"
        else datasets.read_flows(flows_path, labels_required=False)
    )
    x = scale(flows, detector.scaler)
    result = latency.benchmark(
        detector.model, x, threads=args.threads, calls=args.calls, batch_seconds=args.seconds
    )
    if args.json:
        print(dumps(result, indent=2))
        return 0
    print(f"{result['machine']['cpu']}, {args.threads} thread(s), {len(x):,} flows checked")
    for name, r in result["paths"].items():
        print(
            f"  {name:<29} median {r['median_ms']:8.4f} ms  p99 {r['p99_ms']:8.4f} ms  "
            f"{r['flows_per_second']:>12,.0f} flows/s  max |diff| {r['max_abs_difference']:.1e}"
            f"{'' if r['agrees_with_keras'] else '  (above the 1e-5 tolerance)'}"
        )
    return 0


def _refresh_notebooks(args) -> int:
    from .pipeline import refresh_notebooks

    for path in refresh_notebooks(stages=args.stages):
        print(path)
    return 0
