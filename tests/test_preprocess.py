"""Row accounting, the split, and a scaler that sees training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ids_utils import datasets, preprocess
from ids_utils.artifacts import read_json


@pytest.fixture(scope="module")
def flows(merged_sample):
    return datasets.read_flows(merged_sample)


FEATURES = list(datasets.MERGED_FEATURES)


def test_drop_policy_accounts_for_every_row(flows):
    dirty = flows.head(100).copy()
    dirty.loc[[1, 2], "Rate"] = np.nan
    dirty.loc[[2, 3, 4], "IAT"] = np.inf  # row 2 has both: counted once, as NaN
    cleaned, report = preprocess.clean_non_finite(dirty, FEATURES, "drop")
    assert report["rows_dropped"] == {"nan": 2, "inf": 2}
    assert report["rows_kept"] == len(cleaned) == 96
    assert report["rows_in"] == report["rows_kept"] + sum(report["rows_dropped"].values())
    assert report["non_finite_per_feature"] == {"Rate": 2, "IAT": 3}


def test_zero_policy_keeps_rows_and_counts_values(flows):
    dirty = flows.head(10).copy()
    dirty.loc[0, "Rate"] = -np.inf
    cleaned, report = preprocess.clean_non_finite(dirty, FEATURES, "zero")
    assert len(cleaned) == 10 and report["values_replaced"] == 1
    assert cleaned.loc[0, "Rate"] == 0.0 and np.isfinite(cleaned[FEATURES].to_numpy()).all()


def test_unknown_policy(flows):
    with pytest.raises(ValueError, match="policy"):
        preprocess.clean_non_finite(flows, FEATURES, "impute")


def test_split_is_disjoint_complete_and_stratified(flows):
    parts = preprocess.split_train_val_test(flows, 0.2, 0.1, seed=0)
    keys = {name: set(part["source_line"]) for name, part in parts.items()}
    assert not (keys["train"] & keys["test"]) and not (keys["val"] & keys["test"])
    assert not (keys["train"] & keys["val"])
    assert sum(map(len, keys.values())) == len(flows)
    assert abs(len(parts["test"]) - 0.2 * len(flows)) <= 1
    for part in parts.values():
        share = part["family"].value_counts(normalize=True)
        overall = flows["family"].value_counts(normalize=True)
        assert (share - overall).abs().max() < 0.01


def test_split_refuses_tiny_strata(flows):
    tiny = pd.concat(
        [flows[flows["family"] == "Benign"].head(50), flows[flows["family"] == "DDoS"].head(2)]
    )
    with pytest.raises(ValueError, match="fewer than 4 rows"):
        preprocess.split_train_val_test(tiny, 0.2, 0.1, seed=0)


def test_a_seed_split_is_written_with_a_scaler_of_its_training_part(flows, tmp_path):
    parts = preprocess.write_seed_split(flows, FEATURES, 0.2, 0.1, 3, tmp_path / "seed-3")
    expected = preprocess.split_train_val_test(flows, 0.2, 0.1, seed=3)
    for name in ("train", "val", "test"):
        pd.testing.assert_frame_equal(parts[name], expected[name])
        written = pd.read_parquet(tmp_path / "seed-3" / f"{name}.parquet")
        pd.testing.assert_frame_equal(written, expected[name], check_dtype=False)
    stored = read_json(tmp_path / "seed-3" / "scaler.json")
    assert stored == preprocess.fit_scaler(expected["train"], FEATURES)
    assert stored["n_samples_seen"] == len(expected["train"])
    # The same inputs give the same bytes (the pipeline test compares a run's files with these).
    again = tmp_path / "again"
    preprocess.write_seed_split(flows, FEATURES, 0.2, 0.1, 3, again)
    for name in ("train.parquet", "val.parquet", "test.parquet", "scaler.json"):
        assert (again / name).read_bytes() == (tmp_path / "seed-3" / name).read_bytes()


def test_scaler_depends_on_training_rows_only(flows):
    parts = preprocess.split_train_val_test(flows, 0.2, 0.1, seed=0)
    scaler = preprocess.fit_scaler(parts["train"], FEATURES)
    poisoned_test = parts["test"].assign(Rate=1e12)
    assert scaler == preprocess.fit_scaler(parts["train"], FEATURES)
    scaled_train = preprocess.scale(parts["train"], scaler)
    assert np.abs(scaled_train.mean(axis=0)).max() < 1e-4
    assert preprocess.scale(poisoned_test, scaler)[:, FEATURES.index("Rate")].min() > 1e3
    assert scaler["n_samples_seen"] == len(parts["train"])


def test_scale_names_missing_features(flows):
    scaler = preprocess.fit_scaler(flows, FEATURES)
    with pytest.raises(ValueError, match="IAT"):
        preprocess.scale(flows.drop(columns=["IAT"]), scaler)


def test_cross_duplicates_are_counted(flows):
    train = flows.iloc[:100]
    test = pd.concat(
        [
            flows.iloc[100:110],
            train.iloc[[0, 1]].assign(attack=1 - train.iloc[[0, 1]]["attack"]),
            train.iloc[[2]],
        ]
    )
    counts = preprocess.count_cross_duplicates(train, test, FEATURES)
    assert counts["with_feature_copy_in_train"] >= 3
    assert (
        counts["with_feature_copy_in_train"] - counts["with_feature_and_label_copy_in_train"] >= 2
    )


def test_indicator_columns_stay_zero_or_one():
    train = pd.DataFrame({"rate": [1.0, 2.0, 3.0, 6.0], "tcp": [1.0, 0.0, 0.0, 0.0]})
    scaler = preprocess.fit_scaler(train, ["rate", "tcp"], unscaled=["tcp"])
    assert scaler["mean"] == [3.0, 0.0]
    assert scaler["scale"][1] == 1.0 and scaler["scale"][0] == pytest.approx(np.std([1, 2, 3, 6]))
    x = preprocess.scale(train, scaler)
    assert x[:, 1].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert x[:, 0].mean() == pytest.approx(0.0, abs=1e-7)


def test_unscaled_features_must_be_features():
    train = pd.DataFrame({"rate": [1.0, 2.0]})
    with pytest.raises(
        ValueError, match=r"unscaled feature\(s\) not among the features: \['tcp'\]"
    ):
        preprocess.fit_scaler(train, ["rate"], unscaled=["tcp"])


def test_the_scaler_stores_the_training_mean_and_population_scale():
    train = pd.DataFrame({"a": [1.0, 3.0, 5.0], "b": [10.0, 10.0, 10.0], "c": [0.0, 1.0, 0.0]})
    scaler = preprocess.fit_scaler(train, ["a", "b", "c"], unscaled=["c"])
    assert scaler["mean"] == [3.0, 10.0, 0.0]
    # Population standard deviation of 1, 3, 5 is sqrt(8/3); a constant feature gets 1.
    assert scaler["scale"] == pytest.approx([np.sqrt(8 / 3), 1.0, 1.0])
    np.testing.assert_allclose(
        preprocess.scale(train, scaler)[:, 0], np.array([-2, 0, 2]) / np.sqrt(8 / 3), rtol=1e-6
    )


@pytest.mark.parametrize("seed", range(25))
def test_every_split_part_has_the_exact_family_counts(seed):
    families = ["Benign"] * 100 + ["DDoS"] * 50 + ["Recon"] * 50
    frame = pd.DataFrame({"family": families, "x": np.arange(200.0)})
    parts = preprocess.split_train_val_test(frame, test_fraction=0.2, val_fraction=0.25, seed=seed)
    expected = {
        "test": {"Benign": 20, "DDoS": 10, "Recon": 10},
        "val": {"Benign": 20, "DDoS": 10, "Recon": 10},
        "train": {"Benign": 60, "DDoS": 30, "Recon": 30},
    }
    for name, part in parts.items():
        assert part["family"].value_counts().to_dict() == expected[name], (seed, name)
    assert sorted(pd.concat(parts.values())["x"]) == list(np.arange(200.0))


def test_one_hot_takes_categories_from_training_only():
    train = pd.DataFrame({"n": [1.0, 2.0, 3.0], "proto": ["tcp", "udp", "tcp"]})
    test = pd.DataFrame({"n": [4.0, 5.0], "proto": ["icmp", "udp"]})
    encoded, others, features = preprocess.one_hot(train, {"test": test}, ["n"], ("proto",))
    assert features == ["n", "proto=tcp", "proto=udp"]  # numeric first, categories sorted
    assert encoded["proto=tcp"].tolist() == [1.0, 0.0, 1.0]
    assert "proto" not in encoded.columns and "proto=icmp" not in others["test"].columns
    # A category unseen in training has no column: all its indicators are 0.
    assert others["test"][["proto=tcp", "proto=udp"]].to_numpy().tolist() == [[0, 0], [0, 1]]
    assert others["test"]["n"].tolist() == [4.0, 5.0]


def test_split_report_counts_each_part_and_the_test_copies():
    train = pd.DataFrame({"f": [1.0, 2.0, 3.0], "attack": [0, 1, 1]})
    test = pd.DataFrame({"f": [2.0, 9.0], "attack": [1, 0]}, index=[10, 11])
    test["family"] = ["DDoS", "Benign"]
    report = preprocess.split_report({"train": train, "test": test}, ["f"])
    assert report["split"] == {
        "train": {"flows": 3, "benign": 1, "attack": 2},
        "test": {"flows": 2, "benign": 1, "attack": 1},
    }
    copies = report["cross_duplicates"]
    assert copies["test_rows"] == 2 and copies["with_feature_copy_in_train"] == 1
    assert copies["with_feature_and_label_copy_in_train"] == 1


def small_flows(n_per_family: int = 20, seed: int = 0) -> pd.DataFrame:
    """Flows of three families with two integer features (a row's identity is its ``a``)."""
    rng = np.random.default_rng(seed)
    families = ["Benign"] * (2 * n_per_family) + ["DDoS"] * n_per_family + ["Mirai"] * n_per_family
    n = len(families)
    return pd.DataFrame(
        {
            "a": np.arange(n),
            "b": rng.integers(0, 5, n),
            "family": families,
            "attack": [int(f != "Benign") for f in families],
        }
    )


def test_the_split_is_fixed_by_its_seed_and_changes_with_it():
    flows = small_flows()
    one = preprocess.split_train_val_test(flows, 0.25, 0.2, seed=3)
    again = preprocess.split_train_val_test(flows, 0.25, 0.2, seed=3)
    other = preprocess.split_train_val_test(flows, 0.25, 0.2, seed=4)
    for name in ("train", "val", "test"):
        pd.testing.assert_frame_equal(one[name], again[name])
        assert list(one[name].columns) == list(flows.columns)  # no index column added
        assert one[name].index.tolist() == list(range(len(one[name])))
        assert one[name]["a"].is_monotonic_increasing  # source order
    assert set(one["test"]["a"]) != set(other["test"]["a"])
    assert set(one["val"]["a"]) != set(other["val"]["a"])
    # 80 flows: 20 test; 60 left, of which 12 validation (val_fraction of the training part).
    assert [len(one[p]) for p in ("train", "val", "test")] == [48, 12, 20]
    assert one["val"]["family"].value_counts().to_dict() == {"Benign": 6, "DDoS": 3, "Mirai": 3}
    alone = preprocess.split_train_val(flows, 0.25, seed=3)  # stratified on family by default
    assert alone["val"]["family"].value_counts().to_dict() == {"Benign": 10, "DDoS": 5, "Mirai": 5}
    pd.testing.assert_frame_equal(alone["val"], preprocess.split_train_val(flows, 0.25, 3)["val"])
    assert list(alone["train"].columns) == list(flows.columns)
    assert set(alone["val"]["a"]) != set(preprocess.split_train_val(flows, 0.25, 4)["val"]["a"])


def test_split_fractions_and_stratification_are_checked_by_name():
    flows = small_flows()
    for bad in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"^test_fraction must lie strictly between 0 and 1"):
            preprocess.split_train_val_test(flows, bad, 0.1, 0)
        with pytest.raises(
            ValueError, match=rf"^val_fraction must lie strictly between 0 and 1, got {bad}$"
        ):
            preprocess.split_train_val_test(flows, 0.2, bad, 0)
    four = pd.concat([small_flows(), small_flows().iloc[:4].assign(family="Rare")])
    preprocess.split_train_val_test(four, 0.25, 0.25, 0)  # four rows of a family are enough
    three = pd.concat([small_flows(), small_flows().iloc[:3].assign(family="Rare")])
    with pytest.raises(ValueError, match=r"fewer than 4 rows: \{'Rare': 3\}$"):
        preprocess.split_train_val_test(three, 0.25, 0.25, 0)


def test_the_non_finite_report_names_its_reasons_and_keeps_the_row_order():
    flows = small_flows(2).astype({"a": "float64", "b": "float64"})
    flows.loc[1, "b"], flows.loc[3, "a"], flows.loc[5, "b"] = np.nan, np.inf, -np.inf
    cleaned, report = preprocess.clean_non_finite(flows, ["a", "b"])  # "drop" by default
    assert report == {
        "policy": "drop",
        "rows_in": 8,
        "rows_kept": 5,
        "rows_dropped": {"nan": 1, "inf": 2},
        "values_replaced": 0,
        "non_finite_per_feature": {"a": 1, "b": 2},
    }
    assert cleaned["a"].tolist() == [0, 2, 4, 6, 7] and cleaned.index.tolist() == list(range(5))
    assert list(cleaned.columns) == list(flows.columns)
    zeroed, report = preprocess.clean_non_finite(flows, ["a", "b"], "zero")
    assert report["rows_dropped"] == {"nan": 0, "inf": 0} and report["values_replaced"] == 3
    assert report["policy"] == "zero" and zeroed.loc[3, "a"] == 0.0 and zeroed.loc[1, "b"] == 0.0
    with pytest.raises(ValueError, match=r"^feature column\(s\) not in the data: \['zz'\]$"):
        preprocess.clean_non_finite(flows, ["a", "zz"])


def test_values_held_as_python_objects_are_read_as_numbers():
    # A column pandas keeps as objects (numbers and None) is judged like a float column.
    flows = small_flows(1).astype({"a": "object"})
    flows.loc[1, "a"] = None
    cleaned, report = preprocess.clean_non_finite(flows, ["a", "b"])
    assert report["rows_dropped"] == {"nan": 1, "inf": 0}
    assert report["non_finite_per_feature"] == {"a": 1} and len(cleaned) == 3


def test_scaling_keeps_float64_precision_until_the_float32_result():
    train = pd.DataFrame({"x": [1e8 + 1, 1e8 + 3], "n": [1, 3]})  # int column too
    scaler = preprocess.fit_scaler(train, ["x", "n"])
    assert scaler["mean"] == [1e8 + 2, 2.0] and scaler["scale"] == [1.0, 1.0]
    scaled = preprocess.scale(train, scaler)
    assert scaled.dtype == np.float32 and scaled.tolist() == [[-1.0, -1.0], [1.0, 1.0]]


def test_cross_duplicates_compare_features_not_positions():
    train = pd.DataFrame({"a": [1, 2, 3], "attack": [0, 1, 1], "family": ["B", "D", "D"]})
    test = pd.DataFrame(
        {"a": [3, 1, 9, 2], "attack": [1, 1, 0, 1], "family": ["D", "M", "B", "D"]},
        index=[10, 11, 12, 13],  # another index: copies are found by value
    )
    counts = preprocess.count_cross_duplicates(train, test, ["a"])
    assert counts == {
        "test_rows": 4,
        "with_feature_copy_in_train": 3,
        "with_feature_and_label_copy_in_train": 2,
        "by_family": {"D": 2, "M": 1},
    }


def test_one_hot_keeps_each_parts_own_index_and_float_indicators():
    train = pd.DataFrame({"n": [1.0, 2.0], "proto": ["tcp", "udp"]}, index=[10, 11])
    test = pd.DataFrame({"n": [3.0], "proto": ["udp"]}, index=[7])
    encoded, others, features = preprocess.one_hot(train, {"test": test}, ["n"], ("proto",))
    assert features == ["n", "proto=tcp", "proto=udp"]
    assert encoded.index.tolist() == [10, 11] and others["test"].index.tolist() == [7]
    assert others["test"][["proto=tcp", "proto=udp"]].values.tolist() == [[0.0, 1.0]]
    assert encoded["proto=tcp"].dtype == "float64"


def test_the_stratifying_column_is_used_for_both_splits():
    flows = small_flows().drop(columns="family").rename(columns={"attack": "kind"})
    parts = preprocess.split_train_val_test(flows, 0.25, 0.2, seed=1, stratify="kind")
    assert parts["val"]["kind"].value_counts().to_dict() == {0: 6, 1: 6}
