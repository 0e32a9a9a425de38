"""The releases' schemas and the error every reader raises."""

from __future__ import annotations

from ids_utils import schema


def test_the_two_ciciot2023_releases_keep_their_published_shapes():
    assert len(schema.ORIGINAL_FEATURES) == 46 and len(schema.MERGED_FEATURES) == 39
    assert schema.ORIGINAL.columns == schema.ORIGINAL_FEATURES + ("label",)
    assert schema.MERGED.label_columns == ("label_multiclass", "label_binary")
    assert set(schema.ORIGINAL_DROPPED_FEATURES) <= set(schema.ORIGINAL_FEATURES)
    assert schema.SIGNED_FEATURES <= set(schema.ORIGINAL_FEATURES)


def test_the_original_releases_34_fine_labels_fall_into_benign_and_its_7_groups():
    families = set(schema.FINE_LABEL_FAMILY.values())
    assert len(schema.FINE_LABEL_FAMILY) == 34 and len(families) == 8
    assert schema.BENIGN_FAMILY in families
    # The merged release splits the official "Web" group; every other group is shared.
    assert families - {"Web"} <= set(schema.MERGED_FAMILIES)


def test_a_data_error_names_file_column_and_line():
    error = schema.DataError("data/x.csv", "not a number", column="Rate", line=7)
    assert "data/x.csv" in str(error) and "'Rate'" in str(error) and "line 7" in str(error)
    assert "not a number" in str(error)
    assert isinstance(error, ValueError) and error.line == 7
