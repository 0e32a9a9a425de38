"""The paper's sampler: sizes, ratio, stratification, determinism, bounded memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ids_utils import datasets
from ids_utils.sampling import achievable_sizes, allocate, requested_sizes, sample_paper

from .conftest import write_original_parts

# A mutant of the allocation's leftover loop can spin for ever: fail it rather than wait.
pytestmark = pytest.mark.timeout(150)  # each test; the slowest takes ~30 s alone


def test_requested_sizes_follow_the_ratio():
    assert requested_sizes(100_000, 0.9) == (90_000, 10_000)
    with pytest.raises(ValueError, match=r"^n_flows must be at least 2, got 1$"):
        requested_sizes(1, 0.5)
    with pytest.raises(ValueError, match="strictly between 0 and 1, got 0.0"):
        requested_sizes(100, 0.0)
    with pytest.raises(ValueError, match="benign_fraction"):
        requested_sizes(100, 1.0)


def test_achievable_sizes_keep_the_ratio_when_benign_is_short():
    assert achievable_sizes(100_000, 0.9, 1_700, 14_664) == (1_699, 189)
    assert achievable_sizes(1_500, 0.9, 1_700, 14_664) == (1_350, 150)
    assert achievable_sizes(100, 0.5, 1_000, 20) == (20, 20)


def test_allocate_is_proportional_exact_and_capped():
    assert allocate(10, {"a": 50, "b": 30, "c": 20}) == {"a": 5, "b": 3, "c": 2}
    shares = allocate(7, {"a": 1, "b": 100, "c": 100})
    assert sum(shares.values()) == 7 and shares["a"] <= 1
    with pytest.raises(ValueError):
        allocate(10, {"a": 3})


def test_sample_from_the_bundled_source_reports_the_shortfall(merged_sample):
    sample, report = sample_paper(datasets.iter_flow_chunks(merged_sample), 100_000, 0.9, seed=1)
    assert report.requested == {"total": 100_000, "benign": 90_000, "attack": 10_000}
    assert report.achieved == {"total": 1_888, "benign": 1_699, "attack": 189}
    assert len(sample) == 1_888 and (sample["attack"] == 0).sum() == 1_699
    assert "benign flows limit the sample to 1,888" in report.shortfall
    # nine attack families of the merged sample, in proportion (Uploading is the small one)
    attack_families = {k: v for k, v in report.family_counts.items() if k != "Benign"}
    assert len(attack_families) == 9 and attack_families["Uploading"] < attack_families["DDoS"]
    assert not sample.duplicated(["source_file", "source_line"]).any()


def test_sample_within_means_has_no_shortfall(merged_sample):
    sample, report = sample_paper(datasets.iter_flow_chunks(merged_sample), 1_500, 0.9, seed=1)
    assert report.shortfall is None and len(sample) == 1_500


def test_same_seed_same_sample_other_seed_other_sample(merged_sample):
    def draw(seed, chunksize):
        return sample_paper(
            datasets.iter_flow_chunks(merged_sample, chunksize=chunksize), 1_000, 0.9, seed=seed
        )[0]

    a, b, c = draw(3, 4_000), draw(3, 4_000), draw(4, 4_000)
    assert a.equals(b)
    assert not a["source_line"].equals(c["source_line"])


def test_streaming_sample_over_many_parts_has_bounded_memory(tmp_path, original_rows):
    write_original_parts(tmp_path, original_rows, n_files=60, rows_per_file=200)
    chunksize = 100
    sample, report = sample_paper(
        datasets.iter_flow_chunks(tmp_path, chunksize=chunksize),
        n_flows=200,
        benign_fraction=0.9,
        seed=0,
    )
    assert report.rows_read == 12_000 and len(sample) == 200
    assert report.achieved == {"total": 200, "benign": 180, "attack": 20}
    n_families = len(report.source_family_counts)
    bound = chunksize + 180 + (n_families - 1) * 20
    assert report.peak_rows_held <= bound < report.rows_read / 10
    assert report.peak_rows_held >= chunksize  # a chunk and what is kept, held together
    assert set(sample["source_file"]) > {"part-00000-test-c000.csv"}  # drawn across files


def test_sample_needs_both_classes(merged_sample):
    benign_only = (
        chunk[chunk["attack"] == 0] for chunk in datasets.iter_flow_chunks(merged_sample)
    )
    with pytest.raises(ValueError, match="needs both"):
        sample_paper(benign_only, 100, 0.9, seed=0)


def test_allocate_gives_leftover_rows_to_the_largest_remainders_then_by_name():
    # Shares 3.5, 2.1, 1.4 -> floors 3, 2, 1; the one leftover goes to the largest remainder.
    assert allocate(7, {"a": 5, "b": 3, "c": 2}) == {"a": 4, "b": 2, "c": 1}
    # Shares 1.4, 2.1, 3.5 (same remainders, other names): the leftover follows the remainder.
    assert allocate(7, {"a": 2, "b": 3, "c": 5}) == {"a": 1, "b": 2, "c": 4}
    assert allocate(1, {"b": 1, "a": 1}) == {"a": 1, "b": 0}  # a tie breaks by name
    # Shares 4.0, 0.5, 0.5: the leftover goes to the largest remainder, not the largest share.
    assert allocate(5, {"a": 8, "b": 1, "c": 1}) == {"a": 4, "b": 1, "c": 0}


@pytest.mark.timeout(10)  # a mutant of the leftover loop can spin for ever
def test_allocate_takes_everything_or_refuses_to_take_more():
    assert allocate(10, {"a": 7, "b": 3}) == {"a": 7, "b": 3}
    with pytest.raises(ValueError, match=r"^cannot draw 11 from 10 flows$"):
        allocate(11, {"a": 7, "b": 3})


def _chunks(n_chunks=4, rows=50):
    """A source of ``n_chunks`` chunks, each ``rows`` benign and ``rows`` DDoS flows."""
    frames = []
    for chunk in range(n_chunks):
        family = ["Benign"] * rows + ["DDoS"] * rows
        frames.append(
            pd.DataFrame(
                {
                    "family": family,
                    "attack": [f != "Benign" for f in family],
                    "source_file": f"part-{chunk}.csv",
                    "source_line": np.arange(2, 2 * rows + 2),
                    "chunk": chunk,
                    "position": np.arange(2 * rows) % rows,
                }
            )
        )
    return frames


def test_the_sample_is_uniform_over_positions_and_chunks():
    """Selection counts over 400 seeds: a chi-square test of uniformity over positions
    within chunks and over chunks (false-alarm rate 0.001 each), and no chunk repeats
    another's choice (a generator reseeded per chunk would)."""
    from scipy.stats import chisquare

    by_position, by_chunk, repeated = np.zeros(50), np.zeros(4), 0
    for seed in range(400):
        sample, _ = sample_paper(_chunks(), n_flows=40, benign_fraction=0.5, seed=seed)
        benign = sample[sample["family"] == "Benign"]
        by_position += np.bincount(benign["position"], minlength=50)
        by_chunk += np.bincount(benign["chunk"], minlength=4)
        chosen = [set(benign.loc[benign["chunk"] == c, "position"]) for c in range(4)]
        repeated += any(
            chosen[i] and chosen[i] == chosen[j] for i in range(4) for j in range(i + 1, 4)
        )
    assert chisquare(by_position).pvalue > 0.001
    assert chisquare(by_chunk).pvalue > 0.001
    assert repeated <= 2


def test_a_sample_report_is_plain_data():
    from dataclasses import fields

    from ids_utils.sampling import SampleReport

    report = SampleReport(**{f.name: i for i, f in enumerate(fields(SampleReport))})
    assert report.to_dict() == {f.name: i for i, f in enumerate(fields(SampleReport))}


def test_every_chunk_is_shown_to_the_callback_and_empty_sources_are_named():
    seen = []
    sample_paper(_chunks(), 40, 0.5, seed=0, on_chunk=lambda chunk: seen.append(len(chunk)))
    assert seen == [100] * 4
    with pytest.raises(ValueError, match=r"^the source yielded no flows$"):
        sample_paper(iter([]), 10, 0.9, seed=0)
    one = next(iter(_chunks(1, 1))).iloc[:1]  # a single flow: read, but not both classes
    with pytest.raises(ValueError, match="needs both"):
        sample_paper(iter([one]), 10, 0.9, seed=0)


def test_a_family_that_never_occurs_is_not_counted():
    chunks = [
        c.astype({"family": pd.CategoricalDtype(["Benign", "DDoS", "Mirai"])}) for c in _chunks()
    ]
    _, report = sample_paper(iter(chunks), 40, 0.5, seed=0)
    assert set(report.source_family_counts) == {"Benign", "DDoS"}


def test_the_report_of_a_small_source_is_exact():
    sample, report = sample_paper(iter(_chunks()), 40, 0.5, seed=7)
    assert report.to_dict() == {
        "requested": {"total": 40, "benign": 20, "attack": 20},
        "achieved": {"total": 40, "benign": 20, "attack": 20},
        "benign_fraction_requested": 0.5,
        "benign_fraction_achieved": 0.5,
        "source_counts": {"total": 400, "benign": 200, "attack": 200},
        "source_family_counts": {"Benign": 200, "DDoS": 200},
        "family_counts": {"Benign": 20, "DDoS": 20},
        "shortfall": None,
        "rows_read": 400,
        "peak_rows_held": 140,  # a chunk of 100 beside the 20 + 20 kept
        "seed": 7,
    }
    assert list(sample.columns) == list(_chunks()[0].columns)  # no index column added
    assert requested_sizes(2, 0.5) == (1, 1)  # two flows are enough for both classes


def _source(n_benign: int, n_attack: int) -> list[pd.DataFrame]:
    rows = _chunks(1, max(n_benign, n_attack))[0]
    return [
        pd.concat([rows[rows["attack"] == 0].head(n_benign), rows[rows["attack"]].head(n_attack)])
    ]


@pytest.mark.parametrize(
    "n_benign, n_attack, limiting, total",
    [(100, 50, "attack", 100), (40, 50, "benign", 80), (50, 50, "attack", 100)],
)
def test_the_shortfall_names_the_class_that_limits_the_sample(n_benign, n_attack, limiting, total):
    _, report = sample_paper(iter(_source(n_benign, n_attack)), 1_000, 0.5, seed=0)
    assert report.shortfall == (
        f"The source has {n_benign} benign and {n_attack} attack flows; keeping the requested "
        f"50% benign ratio, the {limiting} flows limit the sample to {total} of the 1,000 "
        "requested."
    )


def test_one_benign_flow_is_enough_and_none_is_named_exactly():
    _, report = sample_paper(iter(_source(1, 50)), 20, 0.5, seed=0)
    assert report.achieved == {"total": 2, "benign": 1, "attack": 1}
    with pytest.raises(
        ValueError,
        match=r"^the source has 0 benign and 50 attack flows; the paper's sample needs both$",
    ):
        sample_paper(iter(_source(0, 50)), 20, 0.5, seed=0)
