"""The command line as a user runs it: real subprocesses, exit statuses, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ids_utils", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def assert_clean_failure(result, *fragments):
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_check_data_reports_the_bundled_files(merged_sample, original_fixture):
    result = run("check-data", merged_sample, original_fixture)
    assert result.returncode == 0, result.stderr
    assert "ciciot2023-merged, 16,364 rows (1,700 benign, 14,664 attack)" in result.stdout
    assert "ciciot2023-original, 100 rows" in result.stdout


def test_check_data_json(merged_sample):
    result = run("check-data", "--json", merged_sample)
    report = json.loads(result.stdout)[0]
    assert report["rows"] == 16_364 and report["release"] == "ciciot2023-merged"
    assert report["family_counts"]["Uploading"] == 1_064
    assert report["nan_per_feature"] == {} and report["inf_per_feature"] == {}
    assert report["duplicate_rows"] > 0


@pytest.mark.parametrize("breakage, fragments", [
    ("missing", ["broken.csv", "missing column(s) 'IAT'"]),
    ("text", ["broken.csv", "column 'Rate'", "line 4", "non-numeric"]),
    ("empty", ["broken.csv", "empty"]),
    ("label", ["broken.csv", "column 'label_multiclass'", "line 3", "unknown label"]),
])
def test_check_data_broken_inputs(tmp_path, merged_sample, breakage, fragments):
    frame = pd.read_csv(merged_sample, nrows=10)
    path = tmp_path / "broken.csv"
    if breakage == "missing":
        frame.drop(columns=["IAT"]).to_csv(path, index=False)
    elif breakage == "text":
        frame.astype({"Rate": object}).assign(Rate=lambda f: f["Rate"].where(f.index != 2, "n/a?"))\
            .to_csv(path, index=False)
    elif breakage == "empty":
        path.write_text("")
    else:
        frame.assign(label_multiclass=lambda f: f["label_multiclass"].where(f.index != 1, "Zzz"))\
            .to_csv(path, index=False)
    assert_clean_failure(run("check-data", path), *fragments)


def test_check_data_mixed_releases(tmp_path, merged_sample, original_fixture):
    (tmp_path / "a.csv").write_bytes(merged_sample.read_bytes())
    (tmp_path / "b.csv").write_bytes(original_fixture.read_bytes())
    assert_clean_failure(run("check-data", tmp_path), "releases cannot be mixed")


def test_check_data_missing_file(tmp_path):
    assert_clean_failure(run("check-data", tmp_path / "nope.csv"), "nope.csv", "no such file")


def test_fetch_data_missing_mirror(tmp_path):
    assert_clean_failure(run("fetch-data", "--mirror", tmp_path / "none", "--dest", tmp_path),
                         "mirror folder does not exist")


def test_unknown_profile_is_an_argument_error():
    result = run("pipeline", "--profile", "huge")
    assert result.returncode == 2 and "invalid choice" in result.stderr
    assert "Traceback" not in result.stderr
