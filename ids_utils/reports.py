"""The JSON report of each chapter: one function per artefact, one schema each.

A chapter computes its results and hands them here; the function names the
keys the ledger (:mod:`ids_utils.ledger`), the book snippets and
``compare-runs`` read, and turns frames into plain records.  The notebooks
write the result with :func:`ids_utils.artifacts.write_json` (strict JSON,
atomic).
"""

from __future__ import annotations

import pandas as pd


def data_report(
    profile: str,
    sample_seed: int,
    release,
    files: list,
    source_summary: dict,
    sample_report,
    features: list[str],
    dropped: dict[str, str],
) -> dict:
    """``data_report.json``: the source, the sample drawn from it, and the features used.

    Parameters
    ----------
    release : ids_utils.schema.Release
        The release the source files belong to.
    files : list of pathlib.Path
        The source files read.
    source_summary : dict
        :meth:`ids_utils.audit.SourceSummary.to_dict` of the whole source.
    sample_report : ids_utils.sampling.SampleReport
        What the sampler requested and achieved.
    dropped : dict
        Feature -> why it is not used.
    """
    return {
        "profile": profile,
        "sample_seed": sample_seed,
        "source": {
            "release": release.name,
            "files": len(files),
            "file_names": [f.name for f in files],
            "summary": source_summary,
        },
        "sample": sample_report.to_dict(),
        "features": {"used": features, "dropped": dropped},
    }


def preprocessing_report(
    profile: str,
    features: list[str],
    cleaning: dict,
    seeds: list[int],
    test_fraction: float,
    val_fraction: float,
    per_seed: dict[int, dict],
) -> dict:
    """``preprocessing_report.json``: the non-finite accounting and each seed's split
    (:func:`ids_utils.preprocess.split_report`)."""
    return {
        "profile": profile,
        "features": features,
        "cleaning": cleaning,
        "seeds": seeds,
        "test_fraction": test_fraction,
        "val_fraction": val_fraction,
        "per_seed": {str(seed): report for seed, report in per_seed.items()},
    }


def architecture_report(
    model, features: list[str], layers: pd.DataFrame, batch_size: int, learning_rate: float
) -> dict:
    """``architecture.json``: the built model's layers and the training settings used."""
    from .models import trainable_parameters

    return {
        "features": len(features),
        "trainable_parameters": trainable_parameters(model),
        "layers": layers.to_dict(orient="records"),
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "optimizer": "Adam",
        "loss": "binary_crossentropy",
    }


def diagnostics_report(diagnosis: dict[str, dict[str, pd.DataFrame]]) -> dict:
    """``diagnostics.json``: per model, each table of
    :func:`ids_utils.diagnostics.training_diagnostics` as columns of lists."""
    return {
        model: {name: frame.to_dict(orient="list") for name, frame in result.items()}
        for model, result in diagnosis.items()
    }


def metrics_json(
    profile: str,
    threshold: float,
    seeds: list[int],
    report: dict,
    claims: pd.DataFrame,
    implied: dict[str, float],
) -> dict:
    """``metrics.json``: both CNN-LSTMs' Table 1 (:func:`ids_utils.evaluation.metrics_report`),
    the paper's values, and what the paper's Table 2 implies for its Table 1."""
    from .paper import TABLE1_METRICS

    return {
        "profile": profile,
        "threshold": threshold,
        "seeds": seeds,
        "models": report,
        "paper": claims.loc[list(TABLE1_METRICS), "paper"].to_dict(),
        "paper_arithmetic": {
            name: {"reported": float(claims.loc[name, "paper"]), "implied": value}
            for name, value in implied.items()
        },
    }


def baselines_report(
    profile: str,
    seeds: list[int],
    threshold: float,
    svm_max_rows: int,
    per_seed: pd.DataFrame,
    summary: dict[str, pd.DataFrame],
    timings: pd.DataFrame,
    mcnemar: pd.DataFrame,
    differences: dict[tuple[str, str], pd.DataFrame],
    ranking: dict,
) -> dict:
    """``baselines.json``: every model's metrics per seed and over seeds, fit times,
    McNemar's tests, paired differences (keyed ``"reference | metric"``) and the ranking."""
    return {
        "profile": profile,
        "seeds": seeds,
        "threshold": threshold,
        "svm_max_rows": svm_max_rows,
        "per_seed": per_seed.to_dict(orient="records"),
        "aggregate": {m: s.to_dict(orient="index") for m, s in summary.items()},
        "timings": timings.to_dict(orient="records"),
        "mcnemar": mcnemar.to_dict(orient="records"),
        "paired_differences": {
            f"{reference} | {metric}": table.to_dict(orient="index")
            for (reference, metric), table in differences.items()
        },
        "ranking": ranking,
    }


def errors_report(
    profile: str,
    seeds: list[int],
    by_family: pd.DataFrame,
    outcomes: pd.DataFrame,
    intensity: dict[str, pd.DataFrame],
    verdict: dict,
    overlap: dict,
) -> dict:
    """``errors.json``: recall by family, outcome counts, the intensity test per model,
    the slow-rate verdict and how far the two models' misses overlap."""
    return {
        "profile": profile,
        "seeds": seeds,
        "by_family": by_family.reset_index().to_dict(orient="records"),
        "outcomes": outcomes.to_dict(),
        "intensity_test": {
            model: test.to_dict(orient="index") for model, test in intensity.items()
        },
        "slow_rate_verdict": verdict,
        "miss_overlap": overlap,
    }


def latency_report(
    profile: str,
    model_paths: dict,
    artifacts,
    machine: dict,
    paper_ms: float,
    paper_rate: float,
    table: pd.DataFrame,
    stream: dict,
    summary: str,
) -> dict:
    """``latency.json``: every path's timing per model and thread count, the streaming
    scorer's benchmark, the machine, and the chapter's answer."""
    return {
        "profile": profile,
        "models": {model: str(path.relative_to(artifacts)) for model, path in model_paths.items()},
        "machine": machine,
        "paper": {"latency_ms": paper_ms, "flows_per_second": paper_rate},
        "results": table.to_dict(orient="records"),
        "stream": stream,
        "summary": summary,
    }


def audit_report(
    profile: str,
    seeds: list[int],
    duplicates: dict,
    in_source: dict,
    copies: pd.DataFrame,
    copy_share: float,
    single: dict[int, pd.DataFrame],
    shortcuts: dict[int, list[str]],
    removed: dict[int, dict],
    per_seed: pd.DataFrame,
    drops: dict[str, pd.DataFrame],
    answer: str,
) -> dict:
    """``audit.json``: duplicates, test flows with a training copy, single-feature AUCs,
    the shortcut features, and the retrainings without them and without duplicates."""
    from .experiments import summarise

    return {
        "profile": profile,
        "seeds": seeds,
        "duplicates": duplicates,
        "duplicates_in_source": in_source,
        "test_copies": {
            "per_seed": copies.to_dict(orient="index"),
            "share_with_feature_copy_in_train": copy_share,
        },
        "single_feature_auc": {str(s): t.to_dict(orient="index") for s, t in single.items()},
        "shortcut_features": {str(s): names for s, names in shortcuts.items()},
        "deduplication_removed": {str(s): r for s, r in removed.items()},
        "per_seed": per_seed.to_dict(orient="records"),
        "aggregate": summarise(per_seed, "condition"),
        "drops": {m: d.to_dict(orient="index") for m, d in drops.items()},
        "answer": answer,
    }


def ablations_report(
    profile: str,
    seeds: list[int],
    metric: str,
    permuted: list[str],
    sizes: dict[str, int],
    per_seed: pd.DataFrame,
    advantages: dict[str, pd.DataFrame],
    variants: list[str],
    answer: str,
) -> dict:
    """``ablations.json``: each variant's scores and its difference from the CNN-LSTM."""
    from .experiments import summarise

    return {
        "profile": profile,
        "seeds": seeds,
        "metric": metric,
        "permutation": permuted,
        "parameters": sizes,
        "per_seed": per_seed.to_dict(orient="records"),
        "aggregate": summarise(per_seed, "model"),
        "differences": {
            variant: {m: table.loc[variant].to_dict() for m, table in advantages.items()}
            for variant in variants
        },
        "answer": answer,
    }


def class_ratio_report(
    profile: str,
    seeds: list[int],
    source_fraction: float,
    official_fraction: float,
    ratios: dict[str, float],
    accounting: pd.DataFrame,
    per_seed: pd.DataFrame,
    answer: str,
) -> dict:
    """``class_ratio.json``: the same model and source at several benign fractions."""
    from .experiments import summarise

    return {
        "profile": profile,
        "seeds": seeds,
        "source_benign_fraction": source_fraction,
        "official_benign_fraction": official_fraction,
        "ratios": ratios,
        "samples": accounting.to_dict(orient="index"),
        "per_seed": per_seed.to_dict(orient="records"),
        "aggregate": summarise(per_seed, "ratio"),
        "answer": answer,
    }


def cross_dataset_report(
    profile: str,
    seeds: list[int],
    paper_protocol: str,
    sizes: pd.DataFrame,
    official_train_flows: int,
    per_seed: pd.DataFrame,
    aggregate: dict,
    recalls: pd.DataFrame,
    diagnosis_table: pd.DataFrame,
    new_share: float,
    answer: str,
    choice_validation: pd.DataFrame,
    choice_fraction: float,
    per_model: dict[str, dict],
) -> dict:
    """``cross_dataset.json``: both CNN-LSTMs and the best baseline on NSL-KDD under both
    protocols, with the divergence mark of every run per test set, and the learning rate
    each CNN-LSTM was chosen on validation (``learning_rate_choice``: every candidate's
    validation scores, the training share they saw, and the settings the runs used)."""
    from .models import CNN_LSTMS

    return {
        "learning_rate_choice": {
            "fraction": choice_fraction,
            "validation": choice_validation.to_dict(orient="records"),
            "chosen": per_model,
        },
        "profile": profile,
        "seeds": seeds,
        "paper_protocol": paper_protocol,
        "sizes": sizes.to_dict(orient="index"),
        "official_train_flows": official_train_flows,
        "per_seed": per_seed.drop(columns="group").to_dict(orient="records"),
        "aggregate": aggregate,
        "recall_kddtest_plus": recalls.to_dict(orient="records"),
        "diverged": {
            model: {
                test: dict(zip(part["seed"].astype(str), part["diverged"].astype(bool)))
                for test, part in per_seed[per_seed["model"] == model].groupby("test set")
            }
            for model in CNN_LSTMS
        },
        "diagnostics": diagnosis_table.to_dict(orient="index"),
        "new_type_share": new_share,
        "answer": answer,
    }


def settings_and_scale_report(
    profile: str,
    points: list[dict],
    sweep_seeds: list[int],
    validation: pd.DataFrame,
    chosen: pd.DataFrame,
    tested: pd.DataFrame,
    reached: pd.DataFrame,
    curve_fractions: list[float],
    curve_seeds: list[int],
    cic_curve: pd.DataFrame,
    kdd_curve: pd.DataFrame,
    extrapolations: pd.DataFrame,
    answer: str,
    curve_settings: dict[str, dict],
) -> dict:
    """``settings_and_scale.json``: the sweep of the unstated settings, the chosen setting
    tested once, the learning curves on both datasets (with the settings each CNN-LSTM
    trained at along each curve, ``curve_settings``: data -> model -> settings) and their
    extrapolation."""
    from .tuning import SELECTION_METRIC

    return {
        "profile": profile,
        "selection_metric": SELECTION_METRIC,
        "sweep": {
            "points": points,
            "seeds": sweep_seeds,
            "validation": validation.to_dict(orient="records"),
            "chosen": chosen.reset_index().to_dict(orient="records"),
            "tested": tested.to_dict(orient="records"),
            "reached": reached.reset_index().to_dict(orient="records"),
        },
        "curves": {
            "fractions": curve_fractions,
            "seeds": curve_seeds,
            "ciciot2023": cic_curve.to_dict(orient="records"),
            "nsl_kdd": kdd_curve.to_dict(orient="records"),
            "settings": curve_settings,
        },
        "extrapolations": extrapolations.to_dict(orient="records"),
        "answer": answer,
    }
