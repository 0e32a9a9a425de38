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
