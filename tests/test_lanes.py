"""When each stage of a run is done, with a side stage in a second lane."""

import pytest

from ids_utils import lanes, pipeline


def test_stages_in_one_lane_finish_one_after_another():
    done = lanes.finish_times({"01": 10, "02": 20, "03": 5}, {})
    assert done == {"01": 10, "02": 30, "03": 35}
    assert lanes.wall_seconds({"01": 10, "02": 20, "03": 5}, {}) == 35


def test_a_side_stage_runs_from_its_anchor_and_the_main_lane_waits_for_it():
    seconds = {"01": 10, "02": 20, "03": 30, "04_side": 100, "05": 5}
    done = lanes.finish_times(seconds, {"04_side": "01"})
    # 04 starts at 10, ends at 110; the main lane reaches its place at 60 and waits.
    assert done == {"01": 10, "02": 30, "03": 60, "04_side": 110, "05": 115}
    assert lanes.wall_seconds(seconds, {"04_side": "01"}) == 115


def test_a_short_side_stage_costs_the_main_lane_nothing():
    seconds = {"01": 10, "02": 20, "03_side": 5, "04": 1}
    done = lanes.finish_times(seconds, {"03_side": "01"})
    assert done == {"01": 10, "02": 30, "03_side": 30, "04": 31}


def test_a_side_stage_without_its_anchor_runs_in_the_main_lane():
    assert lanes.wall_seconds({"02": 20, "04_side": 100}, {"04_side": "01"}) == 120
    # An anchor after the side stage cannot start it: the pipeline runs it in line too.
    assert lanes.wall_seconds({"01_side": 7, "02": 3}, {"01_side": "02"}) == 10


def test_no_stages_take_no_time_and_negative_seconds_are_refused():
    assert lanes.finish_times({}) == {}
    assert lanes.wall_seconds({}) == 0
    # A reused stage counts 0 s (the pipeline's estimates).
    assert lanes.finish_times({"01": 0.0, "02": 5.0}, {}) == {"01": 0.0, "02": 5.0}
    with pytest.raises(ValueError, match="must not be negative"):
        lanes.finish_times({"01": -1.0})


def test_the_pipeline_runs_the_side_stages_counted_here():
    assert pipeline.SIDE_STAGES is lanes.SIDE_STAGES
    order = [p.stem for p in pipeline.notebook_paths(pipeline.NOTEBOOKS_DIR)]
    for stage, anchor in lanes.SIDE_STAGES.items():
        assert order.index(anchor) < order.index(stage)
