"""Run files: a missing artefact says which command produces it."""

from __future__ import annotations

import pytest


def test_a_missing_artifact_names_the_command_in_one_line(tmp_path):
    from ids_utils.artifacts import MissingArtifactError, read_json, read_parquet

    with pytest.raises(MissingArtifactError, match=r"pipeline --profile ci") as info:
        read_json(tmp_path / "ci" / "artifacts" / "metrics.json")
    assert info.value._render_traceback_() == [f"MissingArtifactError: {info.value}"]
    with pytest.raises(MissingArtifactError, match=r"pipeline --profile paper"):
        read_parquet(tmp_path / "paper" / "artifacts" / "seed-42" / "test.parquet")


def test_load_parts_reads_every_part_of_every_seed(tmp_path):
    import pandas as pd

    from ids_utils.artifacts import SPLIT_PARTS, load_parts, seed_dir, write_parquet

    for seed in (1, 2):
        for i, name in enumerate(SPLIT_PARTS):
            write_parquet(
                pd.DataFrame({"x": [seed * 10 + i]}), seed_dir(tmp_path, seed) / f"{name}.parquet"
            )
    parts = load_parts(tmp_path, [2, 1])
    assert list(parts) == [2, 1] and list(parts[2]) == list(SPLIT_PARTS)
    assert parts[2]["test"]["x"].tolist() == [22] and parts[1]["train"]["x"].tolist() == [10]
