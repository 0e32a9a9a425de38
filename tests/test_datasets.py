"""Reading, release detection and validation of the data files."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from ids_utils import datasets
from ids_utils.datasets import DataError

from .conftest import write_original_parts


def test_merged_sample_reads_in_full(merged_sample):
    flows = datasets.read_flows(merged_sample)
    assert len(flows) == 16_364
    assert flows["family"].value_counts()["Benign"] == 1_700
    assert (flows["attack"].to_numpy() == (flows["family"] != "Benign").to_numpy(int)).all()
    assert flows["fine_label"].isna().all()  # the merged release carries no fine label
    assert list(flows.columns[:39]) == list(datasets.MERGED_FEATURES)
    assert flows["source_line"].tolist() == list(range(2, 16_364 + 2))


def test_original_fixture_reads_with_fine_labels_and_families(original_fixture):
    flows = datasets.read_flows(original_fixture)
    assert len(flows) == 100
    assert "final_label" not in flows.columns  # a publisher's extra column, dropped
    assert set(flows["family"]) <= set(datasets.FINE_LABEL_FAMILY.values())
    ddos = flows[flows["fine_label"] == "DDoS-ICMP_Flood"]
    assert len(ddos) and (ddos["family"] == "DDoS").all() and (ddos["attack"] == 1).all()


def test_official_grouping_has_33_attacks_in_7_families():
    attacks = {k: v for k, v in datasets.FINE_LABEL_FAMILY.items() if v != "Benign"}
    assert len(attacks) == 33
    assert len(set(attacks.values())) == 7


def test_release_detection(merged_sample, original_fixture):
    assert (
        datasets.detect_release(datasets.read_header(merged_sample), merged_sample)
        is datasets.MERGED
    )
    assert (
        datasets.detect_release(datasets.read_header(original_fixture), original_fixture)
        is datasets.ORIGINAL
    )


def test_model_features_are_43_of_46_and_39_of_39():
    assert len(datasets.model_features(datasets.ORIGINAL)) == 43
    assert len(datasets.model_features(datasets.MERGED)) == 39


# --- broken inputs: one clear error naming file, column and line -----------------------------


def _write(tmp_path, frame: pd.DataFrame, name="broken.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def merged_head(merged_sample):
    return pd.read_csv(merged_sample, nrows=20)


def test_missing_column_is_named(tmp_path, merged_head):
    path = _write(tmp_path, merged_head.drop(columns=["IAT"]))
    with pytest.raises(DataError, match=r"broken\.csv.*missing column\(s\) 'IAT'") as info:
        datasets.read_flows(path)
    assert info.value.column == "IAT"


def test_unknown_column_is_named(tmp_path, merged_head):
    path = _write(tmp_path, merged_head.assign(extra_thing=1))
    with pytest.raises(DataError, match=r"unknown column\(s\) 'extra_thing'"):
        datasets.read_flows(path)


def test_text_in_numeric_column_names_column_and_line(tmp_path, merged_head):
    frame = merged_head.astype({"Rate": "object"})
    frame.loc[7, "Rate"] = "fast"
    path = _write(tmp_path, frame)
    with pytest.raises(DataError) as info:
        datasets.read_flows(path)
    assert info.value.column == "Rate" and info.value.line == 9  # header is line 1
    assert re.search(
        r"broken\.csv, column 'Rate', line 9: non-numeric value 'fast'", str(info.value)
    )


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match="empty"):
        datasets.read_flows(path)


def test_header_only_file(tmp_path, merged_head):
    path = _write(tmp_path, merged_head.iloc[:0])
    with pytest.raises(DataError, match="no data rows"):
        datasets.read_flows(path)


def test_unknown_label_names_line(tmp_path, merged_head):
    frame = merged_head.copy()
    frame.loc[3, "label_multiclass"] = "Teleportation"
    with pytest.raises(DataError) as info:
        datasets.read_flows(_write(tmp_path, frame))
    assert info.value.line == 5 and "Teleportation" in str(info.value)


def test_unknown_fine_label(tmp_path, original_rows):
    frame = original_rows.copy()
    frame.loc[0, "label"] = "DDoS-Imaginary"
    with pytest.raises(DataError, match=r"column 'label', line 2: unknown label 'DDoS-Imaginary'"):
        datasets.read_flows(_write(tmp_path, frame))


def test_binary_label_must_agree_with_family(tmp_path, merged_head):
    frame = merged_head.copy()
    benign_row = int((frame["label_multiclass"] == "Benign").to_numpy().argmax())
    frame.loc[benign_row, "label_binary"] = 1
    with pytest.raises(DataError, match="label_binary is 1 but label_multiclass is 'Benign'"):
        datasets.read_flows(_write(tmp_path, frame))


def test_mixed_releases_in_one_folder(tmp_path, merged_head, original_rows):
    _write(tmp_path, merged_head, "a.csv")
    _write(tmp_path, original_rows, "b.csv")
    with pytest.raises(DataError, match="releases cannot be mixed"):
        datasets.detect_source(tmp_path)


def test_folder_without_csv(tmp_path):
    with pytest.raises(DataError, match="no .csv file"):
        datasets.list_csv_files(tmp_path)


# --- streaming --------------------------------------------------------------------------------


def test_streaming_many_part_files_is_lazy_and_complete(tmp_path, original_rows):
    paths = write_original_parts(tmp_path, original_rows, n_files=30, rows_per_file=40)
    chunks = datasets.iter_flow_chunks(tmp_path, chunksize=25)
    first = next(chunks)
    assert len(first) == 25 and (first["source_file"] == paths[0].name).all()
    # Breaking a later file after the first chunk was read shows nothing was read ahead.
    paths[-1].write_text(paths[-1].read_text().replace("BenignTraffic", "NotALabel", 1))
    seen = len(first)
    with pytest.raises(DataError, match=paths[-1].name):
        for chunk in chunks:
            assert len(chunk) <= 25
            seen += len(chunk)
    assert seen >= 29 * 40  # every earlier file streamed through before the error


def test_chunked_reading_gives_the_same_rows(original_fixture):
    whole = datasets.read_flows(original_fixture)
    pieces = pd.concat(datasets.iter_flow_chunks(original_fixture, chunksize=7), ignore_index=True)
    pd.testing.assert_frame_equal(whole, pieces)


# --- NSL-KDD ----------------------------------------------------------------------------------


def test_nsl_kdd_test_file(kdd_test):
    frame = datasets.read_nsl_kdd(kdd_test)
    assert len(frame) == 22_544
    assert (frame["family"] == "Benign").sum() == 9_711
    assert frame["protocol_type"].isin(["tcp", "udp", "icmp"]).all()
    assert frame["difficulty"].between(0, 21).all()


def test_nsl_kdd_wrong_field_count(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("0,tcp,http,SF,1,2\n")
    with pytest.raises(DataError, match="expected 43 fields"):
        datasets.read_nsl_kdd(path)
