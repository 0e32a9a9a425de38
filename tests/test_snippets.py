"""The Markdown snippets the prose chapters include, written from a run's artefacts."""

from __future__ import annotations

from ids_utils import snippets
from ids_utils.artifacts import write_json
from ids_utils.paper import TABLE1_METRICS


def movement(difference, identical, flipped):
    return {
        "threads_run": 1,
        "threads_rerun": 2,
        "identical_probabilities": identical,
        "flipped_predictions": flipped,
        "diverged": None,
        "metrics": {
            m: {"run": 0.5, "rerun": 0.5 + difference, "difference": difference}
            for m in TABLE1_METRICS
        },
    }


def test_the_rerun_movement_table_gives_signed_changes_per_change_and_model(tmp_path):
    write_json(
        tmp_path / "artifacts" / "rerun_movement.json",
        {
            "reruns": [
                {
                    "seed": 42,
                    "change": "two threads",
                    "models": {
                        "as written": movement(-0.125, False, 1234),
                        "stabilised": movement(0.0, True, 0),
                    },
                },
                {
                    "seed": 42,
                    "change": "oneDNN kernels",
                    "models": {"as written": movement(0.5, False, 9)},
                },
            ]
        },
    )
    text = snippets.write_rerun_movement(tmp_path, tmp_path / "out").read_text()
    lines = text.splitlines()
    assert lines[0].startswith("Seed 42,")
    header, rule, *rows = lines[2:]
    assert header.count("|") == rule.count("|") == 6 + len(TABLE1_METRICS)
    assert rows[0] == (
        "| two threads | as written | 1, 2 | no | 1,234 | "
        + " | ".join(["-0.1250"] * len(TABLE1_METRICS))
        + " |"
    )
    assert rows[1].startswith("| two threads | stabilised | 1, 2 | yes | 0 | +0.0000 |")
    assert rows[2].startswith("| oneDNN kernels | as written | 1, 2 | no | 9 | +0.5000 |")


def test_the_timings_table_totals_the_stages(tmp_path):
    write_json(tmp_path / "artifacts" / "timings.json", {"01_data": 30.0, "02_prep": 90.0})
    text = snippets.write_timings(tmp_path, tmp_path / "out").read_text()
    assert "| `01_data` | 30.0 |" in text
    assert text.endswith("| **all stages, one after another** (2.0 minutes) | 120.0 |\n")


def test_the_timings_table_gives_the_wall_time_of_the_two_lanes(tmp_path):
    timings = {"08_latency": 60.0, "09_audit": 30.0, "12_cross_dataset": 120.0, "13_scale": 6.0}
    write_json(tmp_path / "artifacts" / "timings.json", timings)
    rows = snippets.write_timings(tmp_path, tmp_path / "out").read_text().splitlines()
    assert rows[-2] == "| **all stages, one after another** (3.6 minutes) | 216.0 |"
    # 12 starts when 08 is done (60 s) and ends at 180 s; 13 follows it.
    assert rows[-1] == (
        "| **all stages in two lanes**: `12_cross_dataset` beside the stages after "
        "`08_latency` (3.1 minutes) | 186.0 |"
    )
