"""The two lanes of a run: which stage executes beside which, and when each stage is done.

The pipeline (:func:`ids_utils.pipeline.run_pipeline`) executes the stages in order in
one lane; a side stage executes in a second lane, started once its anchor stage is done,
and the main lane waits for it when it reaches the side stage's own place.  The book's
timings table and the pipeline's estimates of the time left both count time this way.
"""

from __future__ import annotations

#: Stages that read no earlier stage's files, each with the stage after which it runs in a
#: second lane, beside the stages that follow.  The NSL-KDD chapter reads its own data files
#: alone; it waits for the latency chapter, whose timings need the cores to themselves.  Its
#: key does not chain through the earlier stages; the stages after it chain through it.
SIDE_STAGES = {"12_cross_dataset": "08_latency"}


def finish_times(
    seconds: dict[str, float], side_stages: dict[str, str] = SIDE_STAGES
) -> dict[str, float]:
    """When the main lane is past each stage, in seconds from the start of the run.

    Parameters
    ----------
    seconds : dict of str to float
        Stage -> the seconds it takes, in the order the stages run.
    side_stages : dict of str to str, default :data:`SIDE_STAGES`
        Side stage -> the stage after which it starts.  A side stage whose anchor
        is not in ``seconds``, or comes after it, runs in the main lane, as the
        pipeline runs it.

    Returns
    -------
    dict of str to float
        Stage -> the time at which the main lane has finished it (for a side
        stage: has waited for it).  The value of the last stage is the run's
        wall time.
    """
    if any(took < 0 for took in seconds.values()):
        raise ValueError(f"stage seconds must not be negative: {seconds}")
    anchors = {anchor: stage for stage, anchor in side_stages.items() if stage in seconds}
    clock, done, running = 0.0, {}, {}
    for stage, took in seconds.items():
        clock = max(clock, running.pop(stage)) if stage in running else clock + took
        done[stage] = clock
        side = anchors.get(stage)
        if side is not None and side not in done:
            running[side] = clock + seconds[side]
    return done


def wall_seconds(seconds: dict[str, float], side_stages: dict[str, str] = SIDE_STAGES) -> float:
    """The wall time of a run whose stages take ``seconds`` (see :func:`finish_times`)."""
    done = finish_times(seconds, side_stages)
    return max(done.values(), default=0.0)
