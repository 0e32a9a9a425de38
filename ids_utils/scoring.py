"""Scoring flows from any CICIoT2023 CSV with a saved detector."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import datasets
from .evaluation import binary_metrics
from .models import load_detector


def score_file(model_path: str | Path, input_path: str | Path) -> tuple[pd.DataFrame, dict | None]:
    """Attack probability and prediction for every flow of a CSV file.

    Parameters
    ----------
    model_path : str or Path
        A detector saved by :func:`ids_utils.models.save_detector`.
    input_path : str or Path
        A CSV file of either CICIoT2023 release, with or without labels.

    Returns
    -------
    scores : pandas.DataFrame
        ``source_line``, ``probability``, ``prediction``, and ``attack`` and
        ``family`` when the file has labels.
    metrics : dict or None
        The Table 1 metrics at the detector's threshold when labels are present.

    Raises
    ------
    DataError
        If the file is unreadable, invalid, or lacks a feature the model needs.
    """
    detector = load_detector(model_path)
    flows = datasets.read_flows(input_path, labels_required=False)
    missing = [f for f in detector.features if f not in flows.columns]
    if missing:
        release = datasets.detect_release(datasets.read_header(input_path), input_path,
                                          labels_required=False)
        raise datasets.DataError(
            input_path, f"lacks {len(missing)} feature(s) the model was trained on: "
                        f"{', '.join(missing)} (the file is {release.name}; the model "
                        f"expects {len(detector.features)} features)", column=missing[0])
    probability = detector.predict_proba(flows)
    scores = pd.DataFrame({"source_line": flows["source_line"], "probability": probability,
                           "prediction": (probability >= detector.threshold).astype("int8")})
    labelled = flows["attack"].notna().all()
    if labelled:
        scores["attack"] = flows["attack"].astype("int8")
        scores["family"] = flows["family"]
    metrics = binary_metrics(scores["attack"], probability, detector.threshold) if labelled else None
    return scores, metrics
