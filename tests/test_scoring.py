"""The scorer on bad and unusual inputs, run as a user would (real subprocesses).

Every case asserts the exit status, one line on stderr naming the file (and
line or column where there is one), no traceback, and no partial output.
Rows that cannot be scored are never reported as benign, and file and stream
modes agree row for row.  Property-based tests at the end mix random good and
malformed rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ids_utils import scoring

MERGED_HEADER_COLUMNS = 41  # 39 features and two label columns


def run(*args, stdin=None, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "ids_utils", *map(str, args)],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def one_line_error(result, status, *fragments):
    """The run failed with ``status`` and one clean line holding every fragment."""
    stderr = result.stderr.decode()
    assert result.returncode == status, (result.returncode, stderr)
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for fragment in fragments:
        assert str(fragment) in lines[0], (fragment, lines[0])
    return lines[0]


def strict_json_lines(text: bytes) -> list[dict]:
    def refuse(token):
        raise AssertionError(f"non-strict JSON token {token}")

    return [json.loads(line, parse_constant=refuse) for line in text.decode().splitlines()]


@pytest.fixture(scope="module")
def sample_lines(merged_sample) -> list[str]:
    """The header and the first 30 rows of the real merged sample, as text lines."""
    with open(merged_sample) as stream:
        return [next(stream).rstrip("\n") for _ in range(31)]


@pytest.fixture(scope="module")
def unlabelled_lines(sample_lines) -> list[str]:
    return [",".join(line.split(",")[:39]) for line in sample_lines]


def write(path: Path, lines, ending="\n") -> Path:
    path.write_bytes(
        b"".join((x if isinstance(x, bytes) else x.encode()) + ending.encode() for x in lines)
    )
    return path


def with_field(line: str, position: int, value: str) -> str:
    fields = line.split(",")
    fields[position] = value
    return ",".join(fields)


# --- rows that cannot be scored: never benign, file and stream agree -------------------------

BAD_ROWS = {
    "empty field": (lambda row: with_field(row, 3, ""), "empty value", "Rate"),
    "NaN": (lambda row: with_field(row, 3, "NaN"), "non-finite value nan", "Rate"),
    "inf": (lambda row: with_field(row, 3, "inf"), "non-finite value inf", "Rate"),
    "-inf": (lambda row: with_field(row, 0, "-inf"), "non-finite value -inf", "Header_Length"),
    "1e308": (lambda row: with_field(row, 3, "1e308"), "out of range once scaled", "Rate"),
    "1e400": (lambda row: with_field(row, 3, "1e400"), "non-finite value inf", "Rate"),
    "text": (lambda row: with_field(row, 3, "fast"), "non-numeric value 'fast'", "Rate"),
    "too many fields": (lambda row: row + ",7", "expected 39 fields, found 40", None),
    "too few fields": (lambda row: row.rsplit(",", 1)[0], "expected 39 fields, found 38", None),
    "another release's row": (lambda row: ",".join(["1"] * 46), "found 46", None),
    "not UTF-8": (lambda row: row.encode().replace(b",", b",\xff", 1), "not UTF-8 text", None),
}


@pytest.mark.cli
@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_a_bad_row_is_invalid_in_both_modes_and_the_rest_is_scored(
    tmp_path, untrained_detector, unlabelled_lines, case
):
    change, problem, column = BAD_ROWS[case]
    header, rows = unlabelled_lines[0], unlabelled_lines[1:6]
    mixed = [header, rows[0], rows[1], change(rows[2]), rows[3], rows[4]]
    path = write(tmp_path / "mixed.csv", mixed)
    output = tmp_path / "scores.csv"
    error = one_line_error(
        run("score", "--model", untrained_detector, "--input", path, "--output", output),
        2,
        path,
        "1 of 5 row(s)",
        "line 4",
        problem,
    )
    if column:
        assert f"column {column!r}" in error
    scored = output.read_text().splitlines()
    assert scored[0] == ",".join(scoring.SCORE_COLUMNS)
    assert [r.split(",")[0] for r in scored[1:]] == ["2", "3", "4", "5", "6"]
    bad = scored[3].split(",", 4)
    assert bad[1:4] == ["invalid", "", ""] and problem in bad[4]  # no probability, no verdict

    streamed = run("score", "--model", untrained_detector, "--stream", stdin=path.read_bytes())
    assert streamed.returncode == 2 and "Traceback" not in streamed.stderr.decode()
    records = strict_json_lines(streamed.stdout)
    assert [r["line"] for r in records] == [2, 3, 4, 5, 6]
    assert "probability" not in records[2] and "alert" not in records[2]
    assert problem in records[2]["error"] and records[2].get("column") == column
    file_probabilities = {
        int(r.split(",")[0]): float(r.split(",")[2]) for r in scored[1:] if ",scored," in r
    }
    assert {
        r["line"]: r["probability"] for r in records if "probability" in r
    } == file_probabilities


@pytest.mark.cli
def test_an_unknown_label_is_invalid_not_benign(tmp_path, untrained_detector, sample_lines):
    rows = [sample_lines[0], sample_lines[1], sample_lines[2].replace(",Benign,", ",Zzz,")]
    path = write(tmp_path / "labelled.csv", rows)
    result = run("score", "--model", untrained_detector, "--input", path)
    one_line_error(result, 2, path, "line 3", "column 'label_multiclass'", "unknown label 'Zzz'")
    assert json.loads(result.stdout)["n"] == 1  # the metrics cover the scored row only


@pytest.mark.cli
def test_blank_lines_bom_and_crlf_change_nothing(tmp_path, untrained_detector, unlabelled_lines):
    plain = write(tmp_path / "plain.csv", unlabelled_lines[:6])
    odd = write(
        tmp_path / "odd.csv",
        ["\ufeff" + unlabelled_lines[0], *unlabelled_lines[1:4], "", *unlabelled_lines[4:6]],
        ending="\r\n",
    )
    a = run("score", "--model", untrained_detector, "--input", plain)
    b = run("score", "--model", untrained_detector, "--input", odd)
    assert a.returncode == b.returncode == 0, b.stderr
    probabilities = [
        [line.split(",")[2] for line in r.stdout.decode().splitlines()[1:]] for r in (a, b)
    ]
    assert probabilities[0] == probabilities[1] and len(probabilities[0]) == 5
    streamed = run("score", "--model", untrained_detector, "--stream", stdin=odd.read_bytes())
    assert streamed.returncode == 0
    assert [repr(r["probability"]) for r in strict_json_lines(streamed.stdout)] == probabilities[0]
    summary = json.loads(streamed.stderr.decode().splitlines()[-1])["summary"]
    assert summary["blank_lines"] == 1 and summary["flows"] == 5


# --- files and headers that cannot be used: exit 1, one line, no output ----------------------


def header_case(lines, tmp_path):
    return write(tmp_path / "input.csv", lines)


HEADERS = {
    "empty file": (lambda lines: [], "empty"),
    "header only": (lambda lines: lines[:1], "no data rows"),
    "missing feature": (
        lambda lines: [lines[0].replace("IAT", "IATX"), lines[1]],
        "lacks 1 feature(s) the model needs: IAT",
    ),
    "duplicate column": (
        lambda lines: [lines[0] + ",Rate", lines[1] + ",1"],
        "repeats column name(s) Rate",
    ),
    "header not UTF-8": (lambda lines: [b"\xff" + lines[0].encode(), lines[1]], "not UTF-8"),
    "blank header": (lambda lines: ["", lines[1]], "header line is empty"),
}


@pytest.mark.cli
@pytest.mark.parametrize("case", sorted(HEADERS))
def test_an_unusable_header_fails_cleanly_in_both_modes(
    tmp_path, untrained_detector, unlabelled_lines, case
):
    make, fragment = HEADERS[case]
    path = header_case(make(unlabelled_lines), tmp_path)
    output = tmp_path / "scores.csv"
    one_line_error(
        run("score", "--model", untrained_detector, "--input", path, "--output", output),
        1,
        path,
        fragment,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.csv"]  # no partial output
    if case in ("empty file", "header only"):
        return  # an empty stream and a header-only stream are the next test
    one_line_error(
        run("score", "--model", untrained_detector, "--stream", stdin=path.read_bytes()),
        1,
        "<stdin>",
        fragment,
    )


@pytest.mark.cli
def test_empty_and_header_only_streams(untrained_detector, unlabelled_lines):
    one_line_error(
        run("score", "--model", untrained_detector, "--stream", stdin=b""),
        1,
        "<stdin>",
        "the stream is empty",
    )
    header_only = run(
        "score",
        "--model",
        untrained_detector,
        "--stream",
        stdin=(unlabelled_lines[0] + "\n").encode(),
    )
    assert header_only.returncode == 0 and header_only.stdout == b""
    assert json.loads(header_only.stderr)["summary"]["flows"] == 0


@pytest.mark.cli
def test_a_failed_run_leaves_an_existing_output_untouched(
    tmp_path, untrained_detector, unlabelled_lines
):
    output = write(tmp_path / "scores.csv", ["previous results"])
    bad = write(tmp_path / "bad.csv", [unlabelled_lines[0] + ",Rate", unlabelled_lines[1]])
    one_line_error(
        run("score", "--model", untrained_detector, "--input", bad, "--output", output),
        1,
        "repeats column name(s) Rate",
    )
    assert output.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "scores.csv"]


@pytest.mark.parametrize(
    "case",
    [
        "missing input",
        "input is a folder",
        "output is a folder",
        "both modes",
        "neither mode",
        "full disk",
    ],
)
@pytest.mark.cli
def test_paths_and_modes_fail_cleanly(tmp_path, untrained_detector, unlabelled_lines, case):
    good = write(tmp_path / "good.csv", unlabelled_lines[:3])
    model = ["--model", untrained_detector]
    if case == "missing input":
        one_line_error(
            run("score", *model, "--input", tmp_path / "nope.csv"), 1, "nope.csv", "no such file"
        )
    elif case == "input is a folder":
        one_line_error(run("score", *model, "--input", tmp_path), 1, tmp_path, "is a folder")
    elif case == "output is a folder":
        one_line_error(
            run("score", *model, "--input", good, "--output", tmp_path), 1, tmp_path, "is a folder"
        )
    elif case == "both modes":
        one_line_error(run("score", *model, "--input", good, "--stream"), 1, "not both")
    elif case == "neither mode":
        one_line_error(run("score", *model), 1, "either --input")
    else:
        with open("/dev/full", "wb") as full:  # writes fail with "No space left on device"
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "ids_utils",
                    "score",
                    *map(str, model),
                    "--input",
                    str(good),
                ],
                stdout=full,
                stderr=subprocess.PIPE,
            )
        one_line_error(result, 1, "No space left on device")


@pytest.mark.cli
def test_output_piped_into_head_stops_without_a_traceback(
    tmp_path, untrained_detector, unlabelled_lines
):
    rows = unlabelled_lines[:1] + unlabelled_lines[1:] * 700  # ~21,000 rows: several blocks
    big = write(tmp_path / "big.csv", rows)
    command = (
        f"{sys.executable} -m ids_utils score --model {untrained_detector} "
        f"--input {big} | head -n 2"
    )
    result = subprocess.run(command, shell=True, capture_output=True, text=True)
    assert len(result.stdout.splitlines()) == 2 and "Traceback" not in result.stderr


# --- detector files ---------------------------------------------------------------------------


def detector_variant(source: Path, dest: Path, kind: str) -> Path:
    if kind == "pickle":
        dest.write_bytes(b"\x80\x04\x95\x00\x00")
    elif kind == "other zip":
        with zipfile.ZipFile(dest, "w") as archive:
            archive.writestr("hello.txt", "hi")
    elif kind == "truncated":
        dest.write_bytes(source.read_bytes()[:5000])
    elif kind == "flipped byte":
        data = bytearray(source.read_bytes())
        with zipfile.ZipFile(source) as archive:
            info = archive.getinfo("model.weights.h5")
        data[info.header_offset + 30 + len(info.filename) + 200] ^= 0x01
        dest.write_bytes(bytes(data))
    else:
        with zipfile.ZipFile(source) as old, zipfile.ZipFile(dest, "w") as new:
            for item in old.infolist():
                data = old.read(item.filename)
                if item.filename == "ids_detector.json":
                    entry = json.loads(data)
                    if kind == "no entry":
                        continue
                    if kind == "bad JSON entry":
                        data = b"{"
                    elif kind == "text threshold":
                        entry["threshold"] = "0.5"
                        data = json.dumps(entry).encode()
                    elif kind == "no scaler":
                        del entry["scaler"]
                        data = json.dumps(entry).encode()
                new.writestr(item, data)
    return dest


DETECTORS = {
    "pickle": "not a Keras archive",
    "other zip": "no config.json",
    "truncated": "not a Keras archive",
    "flipped byte": "damaged archive",
    "no entry": "without ids_detector.json",
    "bad JSON entry": "ids_detector.json is not valid JSON",
    "text threshold": "threshold must be a number in (0, 1)",
    "no scaler": "no scaler",
}


@pytest.mark.cli
@pytest.mark.parametrize("kind", sorted(DETECTORS))
def test_a_bad_detector_is_refused_in_one_line(
    tmp_path, untrained_detector, unlabelled_lines, kind
):
    model = detector_variant(untrained_detector, tmp_path / "model.keras", kind)
    good = write(tmp_path / "good.csv", unlabelled_lines[:3])
    one_line_error(run("score", "--model", model, "--input", good), 1, model, DETECTORS[kind])
    one_line_error(
        run("score", "--model", model, "--stream", stdin=good.read_bytes()),
        1,
        model,
        DETECTORS[kind],
    )


@pytest.mark.cli
def test_missing_and_folder_models(tmp_path, unlabelled_lines):
    good = write(tmp_path / "good.csv", unlabelled_lines[:3])
    one_line_error(
        run("score", "--model", tmp_path / "absent.keras", "--input", good),
        1,
        "absent.keras",
        "no such model file",
    )
    one_line_error(run("score", "--model", tmp_path, "--input", good), 1, "is a folder")


# --- other commands ---------------------------------------------------------------------------


@pytest.mark.cli
def test_other_commands_turn_bad_arguments_into_one_line(tmp_path, untrained_detector):
    a_file = write(tmp_path / "a_file", ["x"])
    cases = [
        (("latency", "--model", untrained_detector, "--calls", "0"), "--calls", "at least 1"),
        (("latency", "--model", untrained_detector, "--threads", "-1"), "--threads"),
        (("latency", "--model", untrained_detector, "--seconds", "0"), "--seconds", "above 0"),
        (("latency", "--model", untrained_detector, "--seconds", "soon"), "--seconds", "'soon'"),
        (("fetch-data", "--retries", "-1", "--dest", tmp_path), "--retries", "at least 0"),
        (("fetch-data", "--parts", "0", "--dest", tmp_path), "--parts", "at least 1"),
        (("fetch-data", "--parts", "2", "--dest", tmp_path / "d"), "--parts applies to downloads"),
        (("fetch-data", "--dest", a_file), "a_file"),
        (("pipeline", "--profile", "ci", "--run-dir", a_file), "a_file"),
        (("refresh-notebooks", "--stages", "99"), "no stage notebook starts with 99"),
        (("check-data", tmp_path / "absent.csv"), "absent.csv", "no such file"),
        (
            ("score", "--model", untrained_detector, "--stream", "--max-delay-ms", "-1"),
            "--max-delay-ms",
        ),
    ]
    for args, *fragments in cases:
        one_line_error(run(*args), 1, *fragments)


# --- property-based: random mixes of good and malformed rows ----------------------------------

MUTATIONS = sorted(BAD_ROWS)


@pytest.fixture(scope="module")
def reference(untrained_detector, unlabelled_lines, tmp_path_factory):
    """The probability of each of the 30 good rows, scored alone in a clean file."""
    path = write(tmp_path_factory.mktemp("ref") / "clean.csv", unlabelled_lines)
    with open(os.devnull, "w") as sink:
        assert scoring.score_file(untrained_detector, path, sink)["invalid"] == 0
    import io

    out = io.StringIO()
    scoring.score_file(untrained_detector, path, out)
    rows = out.getvalue().splitlines()[1:]
    return [float(r.split(",")[2]) for r in rows]


@pytest.mark.cli
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plan=st.lists(
        st.tuples(st.integers(0, 29), st.sampled_from([None] + MUTATIONS)), min_size=1, max_size=40
    ),
    block_rows=st.sampled_from([1, 3, 8192]),
)
def test_random_mixes_score_every_good_row_once_in_order_in_both_modes(
    tmp_path, untrained_detector, unlabelled_lines, reference, plan, block_rows
):
    import io

    header, rows = unlabelled_lines[0], unlabelled_lines[1:]
    lines = [header]
    for index, mutation in plan:
        lines.append(rows[index] if mutation is None else BAD_ROWS[mutation][0](rows[index]))
    path = write(tmp_path / "mix.csv", lines)

    out = io.StringIO()
    summary = scoring.score_file(untrained_detector, path, out, block_rows=block_rows)
    scored = [r.split(",") for r in out.getvalue().splitlines()[1:]]
    assert [int(r[0]) for r in scored] == list(range(2, len(plan) + 2))
    for (index, mutation), row in zip(plan, scored):
        if mutation is None:
            assert row[1] == "scored" and float(row[2]) == reference[index]
        else:
            assert row[1] == "invalid" and row[2] == row[3] == ""
    assert summary["invalid"] == sum(m is not None for _, m in plan)

    with open(path, "rb") as stream, open(os.devnull, "w") as sink:
        records = io.StringIO()
        stream_summary = scoring.stream_scores(untrained_detector, stream.fileno(), records, sink)
    streamed = strict_json_lines(records.getvalue().encode())
    assert [r["line"] for r in streamed] == [int(r[0]) for r in scored]
    for record, row in zip(streamed, scored):
        assert ("probability" in record) == (row[1] == "scored")
        if "probability" in record:
            assert record["probability"] == float(row[2])
            assert record["alert"] == (row[3] == "1")
    assert stream_summary["invalid"] == summary["invalid"]
    assert np.isfinite([r["probability"] for r in streamed if "probability" in r]).all()


# --- the scoring path stays light -------------------------------------------------------------


@pytest.mark.cli
@pytest.mark.parametrize("mode", ["--stream", "--input"])
def test_scoring_with_a_cached_graph_never_imports_tensorflow(
    tmp_path, untrained_detector, unlabelled_lines, sample_lines, mode
):
    flows = write(
        tmp_path / "flows.csv", unlabelled_lines if mode == "--stream" else sample_lines
    )  # file mode also computes metrics on labels
    code = (
        "import sys; from ids_utils.cli import main; "
        f"args = ['score', '--model', {str(untrained_detector)!r}, {mode!r}]"
        f" + ([] if {mode!r} == '--stream' else [{str(flows)!r}]); rc = main(args); "
        "heavy = [m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules]; "
        "print('heavy:', heavy, rc, file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=flows.read_bytes(), capture_output=True
    )
    assert result.stderr.decode().strip().splitlines()[-1] == "heavy: [] 0", result.stderr


# --- the same functions called in-process: known answers (mutation testing sees these) ---------


@pytest.fixture(scope="module")
def mixed_lines(merged_sample) -> list[str]:
    """The header, then benign and attack rows of the real merged sample, alternating."""
    with open(merged_sample) as stream:
        lines = [line.rstrip("\n") for line in stream]
    benign = [line for line in lines[1:] if line.split(",")[-2] == "Benign"][:4]
    attack = [line for line in lines[1:] if line.split(",")[-2] != "Benign"][:4]
    return [lines[0]] + [row for pair in zip(benign, attack) for row in pair]


def reference_probabilities(detector: Path, lines: list[str]) -> np.ndarray:
    """The detector's probabilities of good rows, computed apart from the scorer's loop:
    pandas reads the rows, the stored scaler scales them, ONNX Runtime scores all at once."""
    import io

    import pandas as pd

    from ids_utils.detectors import onnx_graph, read_detector
    from ids_utils.runtimes import OnnxRunner

    spec = read_detector(detector)
    frame = pd.read_csv(io.StringIO("\n".join(lines)))
    x = ((frame[list(spec.features)].to_numpy("float64") - spec.mean) / spec.scale).astype(
        "float32"
    )
    return OnnxRunner(onnx_graph(spec), threads=1)(x)


@pytest.mark.parametrize("block_rows", [2, scoring.FILE_BLOCK_ROWS])
def test_in_process_score_file_gives_every_row_its_own_verdict(
    tmp_path, untrained_detector, mixed_lines, block_rows
):
    import csv
    import io

    from ids_utils.evaluation import binary_metrics

    header, rows = mixed_lines[0], mixed_lines[1:8]
    bad = with_field(rows[2], 3, "NaN")
    path = write(tmp_path / "mixed.csv", [header, rows[0], rows[1], bad, "", *rows[3:]])
    out = io.StringIO()
    summary = scoring.score_file(untrained_detector, path, out, block_rows=block_rows)
    good = [rows[0], rows[1], *rows[3:]]
    expected = reference_probabilities(untrained_detector, [header, *good])
    written = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [int(r["line"]) for r in written] == [2, 3, 4, 6, 7, 8, 9]  # line 5 is blank
    assert [r["status"] for r in written] == ["scored"] * 2 + ["invalid"] + ["scored"] * 4
    invalid = written[2]
    assert (invalid["probability"], invalid["prediction"]) == ("", "")
    assert invalid["reason"] == "column 'Rate': non-finite value nan"
    scored = [r for r in written if r["status"] == "scored"]
    probability = np.array([float(r["probability"]) for r in scored])
    np.testing.assert_allclose(probability, expected, rtol=1e-6)
    threshold = scoring.Scorer(untrained_detector).threshold
    assert [int(r["prediction"]) for r in scored] == (probability >= threshold).astype(int).tolist()
    assert summary["rows"] == 7 and summary["scored"] == 6 and summary["invalid"] == 1
    assert summary["blank_lines"] == 1
    assert summary["alerts"] == int((probability >= threshold).sum())
    assert summary["first_invalid"] == {"line": 4, "reason": invalid["reason"]}
    families = [line.split(",")[-2] for line in good]
    assert [r["family"] for r in scored] == families and len(set(families)) > 1
    attack = np.array([family != "Benign" for family in families])
    assert [r["attack"] for r in scored] == [str(int(a)) for a in attack]
    assert summary["metrics"] == binary_metrics(attack, probability, threshold)


def test_in_process_an_unlabelled_file_has_no_label_columns_nor_metrics(
    tmp_path, untrained_detector, unlabelled_lines
):
    import io

    path = write(tmp_path / "plain.csv", unlabelled_lines[:4])
    out = io.StringIO()
    summary = scoring.score_file(untrained_detector, path, out)
    assert out.getvalue().splitlines()[0] == ",".join(scoring.SCORE_COLUMNS)
    assert "metrics" not in summary and summary["first_invalid"] is None
    assert (summary["rows"], summary["scored"], summary["invalid"]) == (3, 3, 0)
    with pytest.raises(scoring.DataError, match="no data rows"):
        scoring.score_file(
            untrained_detector, write(tmp_path / "h.csv", [unlabelled_lines[0]]), out
        )
    with pytest.raises(scoring.DataError, match="empty"):
        scoring.score_file(untrained_detector, write(tmp_path / "e.csv", []), out)
    with pytest.raises(scoring.DataError, match="is a folder"):
        scoring.score_file(untrained_detector, tmp_path, out)
    with pytest.raises(scoring.DataError, match="no such file"):
        scoring.score_file(untrained_detector, tmp_path / "absent.csv", out)


def test_in_process_a_model_output_outside_zero_one_is_no_probability(
    untrained_detector, unlabelled_lines
):
    scorer = scoring.Scorer(untrained_detector)
    header = scorer.header(unlabelled_lines[0], "input.csv")
    raw = [line.encode() for line in unlabelled_lines[1:6]]
    block = scorer.parse(raw, 2, header)
    outputs = np.array([0.0, 1.0, 1.5, -0.1, np.nan], dtype="float32")
    scorer.runner = lambda x: outputs[: len(x)]
    probability = scorer.probabilities(block)
    assert probability[:2].tolist() == [0.0, 1.0]  # the bounds are probabilities
    assert np.isnan(probability[2:]).all()
    assert block.problem[:2] == [None, None]
    assert block.problem[2:] == ["the model gave no probability for this row"] * 3
    assert scoring.describe_problem(block, 2) == "the model gave no probability for this row"


def test_in_process_file_blocks_keep_line_numbers(tmp_path):
    path = write(tmp_path / "lines.csv", ["h", "a", "b", "c", "d", "e"])
    blocks = list(scoring.iter_file_lines(path, 2))
    assert blocks == [(1, [b"h"]), (2, [b"a", b"b"]), (4, [b"c", b"d"]), (6, [b"e"])]


def pipe_with(data: bytes, close: bool = True) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    if close:
        os.close(write_fd)
    return read_fd, write_fd


def stream_through_a_pipe(detector, data: bytes, **options):
    """Run stream_scores on a real pipe holding ``data``; (records, summary)."""
    import io

    read_fd, _ = pipe_with(data)
    out, err = io.StringIO(), io.StringIO()
    try:
        summary = scoring.stream_scores(detector, read_fd, out, err, **options)
    finally:
        os.close(read_fd)
    assert json.loads(err.getvalue())["summary"] == summary
    return strict_json_lines(out.getvalue().encode()), summary


@pytest.mark.parametrize("max_lines", [1, 3, scoring.STREAM_BLOCK_LINES])
def test_in_process_stream_scores_every_row_once_with_its_number(
    untrained_detector, mixed_lines, max_lines
):
    header, rows = mixed_lines[0], mixed_lines[1:7]
    lines = [header, rows[0], "", rows[1], with_field(rows[2], 3, "fast"), *rows[3:]]
    records, summary = stream_through_a_pipe(
        untrained_detector, ("\n".join(lines) + "\n").encode(), max_lines=max_lines
    )
    assert [r["line"] for r in records] == [2, 4, 5, 6, 7, 8]
    assert records[2] == {"line": 5, "error": "non-numeric value 'fast'", "column": "Rate"}
    good = [rows[0], rows[1], *rows[3:]]
    expected = reference_probabilities(untrained_detector, [header, *good])
    scored = [r for r in records if "probability" in r]
    np.testing.assert_allclose([r["probability"] for r in scored], expected, rtol=1e-6)
    threshold = scoring.Scorer(untrained_detector).threshold
    assert [r["alert"] for r in scored] == (expected >= threshold).tolist()
    assert [r["family"] for r in scored] == [line.split(",")[-2] for line in good]
    assert summary["flows"] == 5 and summary["invalid"] == 1 and summary["blank_lines"] == 1
    assert summary["alerts"] == int((expected >= threshold).sum())
    latency = summary["latency_ms"]
    assert sorted(latency) == ["p50", "p90", "p99"]
    assert 0 <= latency["p50"] <= latency["p90"] <= latency["p99"]
    assert summary["seconds"] > 0
    seconds = summary["seconds"]  # rounded to 0.1 ms
    assert seconds == round(seconds, 4) and summary["flows_per_second"] == round(
        summary["flows_per_second"], 1
    )
    assert all(value == round(value, 4) for value in latency.values())
    assert 5 / (seconds + 6e-5) <= summary["flows_per_second"] <= 5 / max(seconds - 6e-5, 1e-9)


def test_in_process_a_stream_without_a_final_line_break_and_an_empty_stream(
    untrained_detector, unlabelled_lines
):
    records, summary = stream_through_a_pipe(
        untrained_detector, "\n".join(unlabelled_lines[:3]).encode()
    )
    assert [r["line"] for r in records] == [2, 3] and "family" not in records[0]
    assert summary["flows"] == 2
    records, summary = stream_through_a_pipe(untrained_detector, unlabelled_lines[0].encode())
    assert records == [] and summary["flows"] == 0 and summary["latency_ms"] == {}
    assert summary["flows_per_second"] in (None, 0.0)
    with pytest.raises(scoring.DataError, match="the stream is empty"):
        stream_through_a_pipe(untrained_detector, b"")


def test_in_process_available_lines_are_cut_at_max_lines():
    read_fd, _ = pipe_with(b"a\nb\nc\nd\ne")
    try:
        blocks = list(scoring.iter_available_lines(read_fd, max_lines=2, read_size=2))
    finally:
        os.close(read_fd)
    assert [lines for lines, _ in blocks][-1] == [b"e"]
    assert [line for lines, _ in blocks for line in lines] == [b"a", b"b", b"c", b"d", b"e"]
    assert all(len(lines) <= 3 for lines, _ in blocks)  # a read of 2 bytes adds at most a line
    for lines, arrival in blocks:
        assert len(arrival) == len(lines) and np.all(np.diff(arrival) >= 0)


# --- known answers for the scorer's edges (each kills mutants the tests above let live) --------


def fixed_outputs(monkeypatch, values):
    """Make every Scorer's model give ``values`` in turn, one per valid row (a stand-in model
    whose outputs sit exactly on and around the threshold)."""
    outputs = iter(np.asarray(values, dtype="float32"))

    def runner(x):
        return np.array([next(outputs) for _ in range(len(x))], dtype="float32")

    original = scoring.Scorer.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.runner = runner

    monkeypatch.setattr(scoring.Scorer, "__init__", init)


def parsed_block_sizes(monkeypatch) -> list[int]:
    """The number of raw lines of every block the scorer parses, in order (filled as it runs)."""
    sizes = []
    parse = scoring.Scorer.parse

    def spy(self, raw_lines, first_line, header):
        sizes.append(len(raw_lines))
        return parse(self, raw_lines, first_line, header)

    monkeypatch.setattr(scoring.Scorer, "parse", spy)
    return sizes


def test_in_process_the_scorer_runs_one_thread(untrained_detector):
    options = scoring.Scorer(untrained_detector).runner.session.get_session_options()
    assert options.intra_op_num_threads == 1


def test_in_process_file_mode_messages_name_the_file(
    tmp_path, untrained_detector, unlabelled_lines
):
    import io
    import re

    cases = {
        tmp_path: "is a folder; give one CSV file",
        tmp_path / "absent.csv": "no such file",
        write(tmp_path / "e.csv", []): "the file is empty (no header, no rows)",
        write(tmp_path / "h.csv", ["a,b"]): None,  # header lacks the features: flowcsv's words
        write(
            tmp_path / "header.csv", unlabelled_lines[:1]
        ): "the file has a header but no data rows",
    }
    for path, problem in cases.items():
        with pytest.raises(scoring.DataError) as raised:
            scoring.score_file(untrained_detector, path, io.StringIO())
        assert raised.value.path == path
        if problem is not None:
            assert re.fullmatch(re.escape(f"{path}: {problem}"), str(raised.value))
    with pytest.raises(scoring.DataError) as raised:
        scoring.score_file(
            untrained_detector, write(tmp_path / "only.csv", ["Rate"]), io.StringIO()
        )
    assert raised.value.path == tmp_path / "only.csv" and raised.value.line == 1


def test_in_process_file_mode_at_the_threshold_and_with_several_bad_rows(
    tmp_path, untrained_detector, mixed_lines, monkeypatch
):
    import csv
    import io

    from ids_utils.evaluation import binary_metrics

    header, rows = mixed_lines[0], mixed_lines[1:7]
    threshold = scoring.Scorer(untrained_detector).threshold
    outputs = [threshold, 0.2, 0.9, np.float32(threshold) - np.float32(1e-6)]
    fixed_outputs(monkeypatch, outputs)
    short = ",".join(rows[2].split(",")[:5])  # too few fields: no family can be read
    lines = [header, rows[0], rows[1], short, with_field(rows[3], 3, "x"), rows[4], rows[5]]
    out = io.StringIO()
    summary = scoring.score_file(untrained_detector, write(tmp_path / "t.csv", lines), out)
    text = out.getvalue()
    assert "\r" not in text  # one "\n" per row, not csv's default "\r\n"
    written = list(csv.DictReader(io.StringIO(text)))
    scored = [r for r in written if r["status"] == "scored"]
    assert [int(r["prediction"]) for r in scored] == [1, 0, 1, 0]  # p >= threshold is an alert
    assert [r["reason"] for r in scored] == [""] * 4
    assert (written[2]["family"], written[2]["attack"]) == ("", "")
    assert summary == {
        "rows": 6,
        "scored": 4,
        "invalid": 2,
        "blank_lines": 0,
        "alerts": 2,
        "first_invalid": {"line": 4, "reason": written[2]["reason"]},
        "metrics": summary["metrics"],
    }
    truth = np.array([line.split(",")[-2] != "Benign" for line in (rows[0], rows[1], *rows[4:])])
    assert summary["metrics"] == binary_metrics(truth, np.array(outputs, "float32"), threshold)


def test_in_process_file_mode_judges_metrics_at_the_detectors_threshold(
    tmp_path, untrained_detector, mixed_lines, monkeypatch
):
    import io

    from ids_utils.evaluation import binary_metrics

    header, rows = mixed_lines[0], mixed_lines[1:5]
    monkeypatch.setattr(scoring.Scorer, "threshold", property(lambda self: 0.3))
    fixed_outputs(monkeypatch, [0.4, 0.4, 0.2, 0.2])
    summary = scoring.score_file(
        untrained_detector, write(tmp_path / "m.csv", [header, *rows]), io.StringIO()
    )
    truth = np.array([line.split(",")[-2] != "Benign" for line in rows])
    probability = np.array([0.4, 0.4, 0.2, 0.2], "float32")
    assert summary["metrics"] == binary_metrics(truth, probability, 0.3)
    assert summary["metrics"] != binary_metrics(truth, probability, 0.5)


def test_in_process_a_labelled_file_with_no_scorable_row_has_no_metrics(
    tmp_path, untrained_detector, mixed_lines
):
    import io

    header, rows = mixed_lines[0], mixed_lines[1:3]
    bad = [with_field(row, 3, "inf") for row in rows]
    summary = scoring.score_file(
        untrained_detector, write(tmp_path / "b.csv", [header, *bad]), io.StringIO()
    )
    assert (summary["scored"], summary["invalid"]) == (0, 2) and "metrics" not in summary


def test_in_process_file_mode_reads_in_blocks_of_block_rows(
    tmp_path, untrained_detector, unlabelled_lines, monkeypatch
):
    import io

    sizes = parsed_block_sizes(monkeypatch)
    path = write(tmp_path / "p.csv", unlabelled_lines[:8])
    scoring.score_file(untrained_detector, path, io.StringIO(), block_rows=3)
    assert sizes == [3, 3, 1]


def test_in_process_file_lines_lose_only_their_line_break(tmp_path):
    path = tmp_path / "raw.csv"
    path.write_bytes(b"h X \nrow \r\nXrowX\n")
    assert list(scoring.iter_file_lines(path, 8)) == [(1, [b"h X "]), (2, [b"row \r", b"XrowX"])]


def test_in_process_available_lines_gather_what_has_arrived_up_to_max_lines():
    # Everything is in the (closed) pipe: reads of 2 bytes are gathered into one block
    # until max_lines lines are complete, never past it.
    read_fd, _ = pipe_with(b"a\nb\nc\nd\n")
    try:
        blocks = [lines for lines, _ in scoring.iter_available_lines(read_fd, 2, 0.5, 2)]
    finally:
        os.close(read_fd)
    assert blocks == [[b"a", b"b"], [b"c", b"d"]]


def test_in_process_a_partial_line_waits_for_its_end_across_reads():
    # One line per block; a read ends inside line "b", whose rest comes in the next read.
    read_fd, _ = pipe_with(b"a\nb\nc\nd\ne")
    try:
        blocks = list(scoring.iter_available_lines(read_fd, max_lines=1, read_size=3))
    finally:
        os.close(read_fd)
    assert [line for lines, _ in blocks for line in lines] == [b"a", b"b", b"c", b"d", b"e"]
    assert all(len(arrival) == len(lines) for lines, arrival in blocks)


@pytest.mark.timeout(20)
def test_in_process_a_quiet_writer_does_not_hold_back_complete_lines():
    # The writer stays open and silent: the complete line is given after max_delay, the
    # partial one only once its end arrives (a mutant that waits without a deadline hangs
    # here, and pytest-timeout fails it).
    read_fd, write_fd = pipe_with(b"a\nb", close=False)
    try:
        blocks = scoring.iter_available_lines(read_fd, max_delay=0.01)
        assert next(blocks)[0] == [b"a"]
        os.write(write_fd, b"c\n")
        os.close(write_fd)
        assert [lines for lines, _ in blocks] == [[b"bc"]]
    finally:
        os.close(read_fd)


def fake_clock(monkeypatch):
    """time.perf_counter as seen by the scorer: 1 ms more at every call."""
    import itertools

    ticks = itertools.count(1)
    monkeypatch.setattr(scoring.time, "perf_counter", lambda: next(ticks) * 1e-3)


def test_in_process_stream_summary_on_a_controlled_clock(
    untrained_detector, mixed_lines, monkeypatch
):
    # All rows come in one read at tick 1 (1 ms); their scores are written at tick 2; the
    # summary is taken at tick 3: every latency is 1 ms, the stream lasted 2 ms.
    header, rows = mixed_lines[0], mixed_lines[1:4]
    threshold = scoring.Scorer(untrained_detector).threshold
    fixed_outputs(monkeypatch, [threshold, 0.1, 0.9])
    fake_clock(monkeypatch)
    data = ("\n".join([header, *rows]) + "\n").encode()
    records, summary = stream_through_a_pipe(untrained_detector, data, max_lines=1)
    assert [r["alert"] for r in records] == [True, False, True]  # strict JSON true / false
    assert summary["seconds"] == 0.002
    assert summary["flows_per_second"] == 1500.0
    assert summary["latency_ms"] == {"p50": 1.0, "p90": 1.0, "p99": 1.0}
    numbers = [summary["flows_per_second"], *summary["latency_ms"].values()]
    assert all(isinstance(value, float) for value in numbers)  # 1500.0, not 1500


def stream_in_chunks(detector, chunks: list[str], gap: float, **options) -> tuple[dict, str]:
    """Run stream_scores on a pipe that a writer fills one chunk at a time, ``gap`` seconds
    apart; (summary, what was written to out)."""
    import io
    import threading

    read_fd, write_fd = os.pipe()

    def writer():
        for chunk in chunks:
            os.write(write_fd, chunk.encode())
            time.sleep(gap)
        os.close(write_fd)

    thread = threading.Thread(target=writer)
    thread.start()
    out = io.StringIO()
    try:
        summary = scoring.stream_scores(detector, read_fd, out, io.StringIO(), **options)
    finally:
        thread.join()
        os.close(read_fd)
    return summary, out.getvalue()


@pytest.mark.timeout(30)
def test_in_process_stream_blocks_stop_at_max_lines_while_flows_trickle_in(
    untrained_detector, unlabelled_lines, monkeypatch
):
    # One line every 0.1 s and a long max_delay: with max_lines=1 each row is scored as it
    # comes, not gathered into a block of four (a read may rarely catch two rows at once).
    sizes = parsed_block_sizes(monkeypatch)
    lines = [*unlabelled_lines[:3], "", "", *unlabelled_lines[3:5]]
    summary, _ = stream_in_chunks(
        untrained_detector, [line + "\n" for line in lines], 0.1, max_delay=2.0, max_lines=1
    )
    assert summary["flows"] == 4 and max(sizes) < 4
    assert summary["blank_lines"] == 2  # each in a block of its own


@pytest.mark.timeout(30)
def test_in_process_stream_blocks_gather_rows_for_max_delay(
    untrained_detector, unlabelled_lines, monkeypatch
):
    # Lines every 0.05 s and a max_delay of 5 s: all four rows wait in one block for the
    # writer to finish (it closes long before the deadline).
    sizes = parsed_block_sizes(monkeypatch)
    chunks = [line + "\n" for line in unlabelled_lines[:5]]
    summary, _ = stream_in_chunks(untrained_detector, chunks, 0.05, max_delay=5.0)
    assert summary["flows"] == 4 and sizes == [4]


@pytest.mark.timeout(30)
def test_in_process_by_default_a_row_is_scored_within_milliseconds(
    untrained_detector, unlabelled_lines
):
    # The default max_delay is 2 ms: the first row's score is out long before the writer,
    # which stays open and silent for up to 0.9 s, gives up waiting for it.
    import io
    import threading

    out = io.StringIO()
    read_fd, write_fd = os.pipe()
    seen = []

    def writer():
        os.write(write_fd, ("\n".join(unlabelled_lines[:2]) + "\n").encode())
        deadline = time.monotonic() + 0.9
        while not out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.005)
        seen.append(bool(out.getvalue()))
        os.close(write_fd)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        scoring.stream_scores(untrained_detector, read_fd, out, io.StringIO())
    finally:
        thread.join()
        os.close(read_fd)
    assert seen == [True]
    # ... and the line reader's own default is the same 2 ms.
    read_fd, write_fd = pipe_with(b"a\n", close=False)
    closer = threading.Timer(0.9, os.close, [write_fd])
    closer.start()
    try:
        started = time.monotonic()
        assert next(scoring.iter_available_lines(read_fd))[0] == [b"a"]
        assert time.monotonic() - started < 0.8
    finally:
        closer.join()
        os.close(read_fd)


def test_in_process_stream_errors_name_stdin_and_count_every_bad_row(
    untrained_detector, mixed_lines
):
    import re

    with pytest.raises(scoring.DataError) as raised:
        stream_through_a_pipe(untrained_detector, b"")
    assert re.fullmatch(
        re.escape("<stdin>: the stream is empty (no header line)"), str(raised.value)
    )
    with pytest.raises(scoring.DataError) as raised:
        stream_through_a_pipe(untrained_detector, b"a,b\n1,2\n")
    assert raised.value.path == Path("<stdin>") and raised.value.line == 1
    header, rows = mixed_lines[0], mixed_lines[1:4]
    lines = [header, with_field(rows[0], 3, "x"), rows[1], with_field(rows[2], 3, "nan")]
    records, summary = stream_through_a_pipe(untrained_detector, ("\n".join(lines) + "\n").encode())
    assert summary["invalid"] == 2 and summary["flows"] == 1


@pytest.mark.timeout(20)
def test_in_process_a_header_that_arrives_alone_is_followed_by_its_rows(
    untrained_detector, unlabelled_lines
):
    # 0.2 s between the header and the rows, far past max_delay: the header is a block alone.
    chunks = [unlabelled_lines[0] + "\n", "\n".join(unlabelled_lines[1:4]) + "\n"]
    summary, out = stream_in_chunks(untrained_detector, chunks, 0.2, max_delay=0.002)
    assert summary["flows"] == 3
    assert [r["line"] for r in strict_json_lines(out.encode())] == [2, 3, 4]
