"""Command line: ``python -m ids_utils <command> ...``.

A bad argument or an unusable file gives one line on stderr and exit status 1,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import pandas as pd

from . import acquire, datasets
from .audit import SourceSummary
from .models import DetectorFileError
from .pipeline import (DEFAULT_DATA_DIR, PROJECT_ROOT, PipelineError, build_book,
                       refresh_notebooks, run_pipeline)
from .profiles import PROFILES

DEFAULT_MIRROR = PROJECT_ROOT.parent / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (datasets.DataError, acquire.AcquireError, DetectorFileError, PipelineError,
            ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ids_utils", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check-data", help="validate and describe data files")
    check.add_argument("paths", nargs="+", type=Path,
                       help="CICIoT2023 CSV files or folders, or NSL-KDD .txt files")
    check.add_argument("--json", action="store_true", help="print one JSON document")
    check.set_defaults(func=_check_data)

    fetch = commands.add_parser("fetch-data", help="put the raw files in place")
    fetch.add_argument("--mirror", type=Path, default=None,
                       help=f"local mirror folder (default: {DEFAULT_MIRROR} when it exists)")
    fetch.add_argument("--dest", type=Path, default=DEFAULT_DATA_DIR,
                       help="data folder (default: %(default)s)")
    fetch.add_argument("--official", action="store_true",
                       help="download the official CICIoT2023 part files even if a mirror exists")
    fetch.add_argument("--base-url", default=acquire.OFFICIAL_BASE_URL,
                       help="where the official part files live (default: %(default)s)")
    fetch.add_argument("--parts", type=int, default=acquire.OFFICIAL_PART_COUNT,
                       help="download only the first N part files (default: all %(default)s)")
    fetch.add_argument("--retries", type=int, default=3,
                       help="extra attempts per file (default: %(default)s)")
    fetch.set_defaults(func=_fetch_data)

    pipe = commands.add_parser("pipeline", help="run the notebooks in order")
    pipe.add_argument("--profile", choices=sorted(PROFILES), required=True)
    pipe.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    pipe.add_argument("--run-dir", type=Path, default=None,
                      help="default: runs/<profile>")
    pipe.add_argument("--source", default="auto",
                      help="CICIoT2023 folder or file (default: the best under --data-dir)")
    pipe.add_argument("--stages", nargs="+", metavar="NN",
                      help="rerun only these stages (e.g. 09 10) in an existing run")
    pipe.set_defaults(func=_pipeline)

    score = commands.add_parser("score", help="score the flows of a CSV with a saved model")
    score.add_argument("--model", type=Path, required=True, help="a .keras detector")
    score.add_argument("--input", type=Path, default=None, help="a CICIoT2023 CSV file")
    score.add_argument("--stream", action="store_true",
                       help="read CSV rows from stdin (header first), one JSON line per flow")
    score.add_argument("--output", type=Path, default=None,
                       help="write per-flow probability and prediction to this CSV")
    score.set_defaults(func=_score)

    latency = commands.add_parser("latency", help="latency and throughput of a saved model")
    latency.add_argument("--model", type=Path, required=True, help="a .keras detector")
    latency.add_argument("--flows", type=Path, default=None,
                         help="flows to time and check the exports on: a CICIoT2023 CSV, "
                              "or a split's .parquet (default: the bundled merged sample)")
    latency.add_argument("--threads", type=int, default=os.cpu_count(),
                         help="CPU threads (default: all, %(default)s)")
    latency.add_argument("--calls", type=int, default=1000,
                         help="timed one-flow calls per path (default: %(default)s)")
    latency.add_argument("--json", action="store_true", help="print the results as JSON")
    latency.set_defaults(func=_latency)

    refresh = commands.add_parser("refresh-notebooks",
                                  help="re-execute the committed notebooks in place (ci)")
    refresh.add_argument("--stages", nargs="+", metavar="NN",
                         help="only these notebooks (e.g. 09 12); earlier stages' outputs "
                              "must already be in runs/ci")
    refresh.set_defaults(func=_refresh_notebooks)

    book = commands.add_parser("build-book", help="build the HTML book from a run")
    book.add_argument("--run-dir", type=Path, required=True)
    book.add_argument("--strict", action="store_true", help="warnings are errors")
    book.add_argument("--output", type=Path, default=PROJECT_ROOT,
                      help="the HTML goes to OUTPUT/_build/html (default: the project)")
    book.set_defaults(func=_build_book)
    return parser


def _check_data(args) -> int:
    reports = [_check_one(file) for path in args.paths for file in _expand(path)]
    if args.json:
        print(json.dumps(reports, indent=2))
    else:
        for report in reports:
            print(_format_check(report))
    return 0


def _expand(path: Path) -> list[Path]:
    if path.is_dir():
        # Validates that the folder holds a single release before reading rows.
        return datasets.detect_source(path)[1]
    return [path]


def _check_one(file: Path) -> dict:
    if file.suffix.lower() == ".txt":
        frame = datasets.read_nsl_kdd(file)
        features = [f for f in datasets.NSL_KDD_FEATURES
                    if f not in datasets.NSL_KDD_CATEGORICAL]
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
    lines = [f"{report['file']}: {report['release']}, {report['rows']:,} rows "
             f"({report['benign']:,} benign, {report['attack']:,} attack)"]
    for key in ("family_counts", "fine_label_counts"):
        if report[key]:
            counts = ", ".join(f"{k} {v:,}" for k, v in report[key].items())
            lines.append(f"  {key.replace('_', ' ')}: {counts}")
    for key in ("nan_per_feature", "inf_per_feature"):
        values = report[key]
        shown = ", ".join(f"{k} {v:,}" for k, v in values.items()) if values else "none"
        lines.append(f"  {key.replace('_', ' ')}: {shown}")
    lines.append(f"  exact duplicate rows: {report['duplicate_rows']:,}; duplicate feature "
                 f"vectors: {report['duplicate_feature_rows']:,}; with conflicting labels: "
                 f"{report['conflicting_feature_vectors']:,}")
    lines.append(f"  constant features: {', '.join(report['constant_features']) or 'none'}")
    return "\n".join(lines)


def _fetch_data(args) -> int:
    mirror = args.mirror or (DEFAULT_MIRROR if DEFAULT_MIRROR.is_dir() else None)
    if args.mirror is not None and not args.mirror.is_dir():
        raise acquire.AcquireError(f"{args.mirror}: mirror folder does not exist")
    if mirror is not None and not args.official:
        done = acquire.copy_from_mirror(mirror, args.dest)
    else:
        names = acquire.official_part_names(args.parts)
        done = acquire.download_official(args.dest, base_url=args.base_url, names=names,
                                         retries=args.retries)
    for item in done:
        print(f"{item['action']:>10}  {item['dest']}")
    return 0


def _pipeline(args) -> int:
    run_dir = run_pipeline(args.profile, data_dir=args.data_dir, run_dir=args.run_dir,
                           source=args.source, stages=args.stages)
    print(run_dir)
    return 0


def _build_book(args) -> int:
    print(build_book(args.run_dir, strict=args.strict, output_dir=args.output))
    return 0


def _score(args) -> int:
    from .scoring import score_file, stream_scores

    if args.stream == (args.input is not None):
        raise ValueError("give either --input CSV or --stream (rows on stdin), not both")
    if args.stream:
        summary = stream_scores(args.model, sys.stdin.fileno(), sys.stdout, sys.stderr)
        return 0 if summary["flows"] or not summary["malformed"] else 1
    scores, metrics = score_file(args.model, args.input)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        scores.to_csv(args.output, index=False)
    if metrics is not None:
        print(json.dumps(metrics, indent=2))
    elif args.output is None:
        scores.to_csv(sys.stdout, index=False)
    return 0


def _latency(args) -> int:
    from . import latency
    from .preprocess import scale

    latency.configure_threads(args.threads)
    from .models import load_detector

    detector = load_detector(args.model)
    flows_path = args.flows or DEFAULT_DATA_DIR / "ciciot2023" / "merged"
    flows = (pd.read_parquet(flows_path) if flows_path.suffix == ".parquet"
             else datasets.read_flows(flows_path, labels_required=False))
    x = scale(flows, detector.scaler)
    result = latency.benchmark(detector.model, x, threads=args.threads, calls=args.calls)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['machine']['cpu']}, {args.threads} thread(s), {len(x):,} flows checked")
    for name, r in result["paths"].items():
        print(f"  {name:<29} median {r['median_ms']:8.4f} ms  p99 {r['p99_ms']:8.4f} ms  "
              f"{r['flows_per_second']:>12,.0f} flows/s  max |diff| {r['max_abs_difference']:.1e}"
              f"{'' if r['agrees_with_keras'] else '  (above the 1e-5 tolerance)'}")
    return 0


def _refresh_notebooks(args) -> int:
    for path in refresh_notebooks(stages=args.stages):
        print(path)
    return 0
