"""Profiles: ci and paper share their keys; training settings come from one function."""

from __future__ import annotations


import pytest

from ids_utils.profiles import PROFILES, get_profile


def test_profiles_share_their_keys():
    assert set(PROFILES["ci"]) == set(PROFILES["paper"])
    assert PROFILES["paper"]["n_flows"] == 100_000 and PROFILES["paper"]["benign_fraction"] == 0.9
    with pytest.raises(ValueError, match="unknown profile"):
        get_profile("nope")


def test_training_settings_come_from_the_parameters():
    from ids_utils.profiles import TRAINING_KEYS, training_settings

    parameters = {**get_profile("paper"), "run_dir": "x"}
    assert training_settings(parameters) == {key: parameters[key] for key in TRAINING_KEYS}
    with pytest.raises(KeyError, match=r"missing from the parameters: \['epochs'\]"):
        training_settings({k: v for k, v in parameters.items() if k != "epochs"})
