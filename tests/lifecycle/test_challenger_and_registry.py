"""The pure parts: the challenger decision, the overfitting gap, the registry's file handling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tribar.ml.challenger import ChallengerSettings, Scores, decide, overfitting_gap, score
from tribar.ml.registry import Artifacts, ModelRegistry, RegistryError

SETTINGS = ChallengerSettings(enabled=True, min_auc=0.52, tolerance=0.01, log_loss_tolerance=0.01)


def test_score_matches_its_definition() -> None:
    y = np.array([0, 0, 1, 1])
    s = score(y, np.array([0.1, 0.4, 0.35, 0.8]))
    assert s.rows == 4 and s.auc == pytest.approx(0.75)
    expected = -np.mean(np.log([0.9, 0.6, 0.35, 0.8]))
    assert s.log_loss == pytest.approx(expected)
    assert score(np.array([1, 1]), np.array([0.2, 0.3])).auc is None
    with pytest.raises(ValueError, match="NaN"):
        score(y, np.array([0.1, np.nan, 0.3, 0.4]))


def test_below_the_floor_is_rejected_without_an_incumbent() -> None:
    d = decide(Scores(400, 0.51, 0.69), None, None, None, SETTINGS)
    assert not d.accepted and "below the floor 0.520" in d.reasons[0]
    assert decide(Scores(400, 0.53, 0.69), None, None, None, SETTINGS).accepted


def test_worse_than_the_incumbent_beyond_tolerance_is_rejected() -> None:
    c = Scores(400, 0.60, 0.66)
    inside = decide(c, Scores(300, 0.60, 0.66), Scores(300, 0.605, 0.655), 3, SETTINGS)
    assert inside.accepted
    auc_worse = decide(c, Scores(300, 0.58, 0.66), Scores(300, 0.60, 0.66), 3, SETTINGS)
    assert not auc_worse.accepted and any("worse than v3's" in r for r in auc_worse.reasons)
    ll_worse = decide(c, Scores(300, 0.60, 0.68), Scores(300, 0.60, 0.66), 3, SETTINGS)
    assert not ll_worse.accepted and any("log-loss" in r for r in ll_worse.reasons)


def test_too_few_shared_rows_judges_the_candidate_alone() -> None:
    d = decide(Scores(400, 0.6, 0.6), Scores(20, 0.4, 0.9), Scores(20, 0.9, 0.3), 2, SETTINGS)
    assert d.accepted and any("20 holdout rows" in r for r in d.reasons)


def test_overfitting_gap_is_relative_and_flagged_above_ten_percent() -> None:
    gap = overfitting_gap({"auc": 0.8, "log_loss": 0.5}, {"auc": 0.6, "log_loss": 0.52})
    assert gap["auc_gap"] == pytest.approx(0.25) and gap["log_loss_gap"] == pytest.approx(0.04)
    assert gap["warning"]
    calm = overfitting_gap({"auc": 0.62, "log_loss": 0.6}, {"auc": 0.6, "log_loss": 0.63})
    assert not calm["warning"]
    assert overfitting_gap({"auc": None}, {"auc": 0.6})["auc_gap"] is None


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("on", "must be an object"),
        ({"enabled": 1}, r"challenger\.enabled must be true or false"),
        ({"tolerance": -1}, r"challenger\.tolerance must be a number >= 0"),
        ({"keep_versions": 0}, r"challenger\.keep_versions must be an integer >= 1"),
        ({"min_auc": 1.5}, r"challenger\.min_auc must be at most 1"),
        ({"floor": 0.5}, r"unknown key\(s\) \['floor'\]"),
    ],
)
def test_bad_settings_are_named(value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ChallengerSettings.from_config(value)


def _artifacts(tag: str) -> Artifacts:
    return Artifacts({"tag": tag}, "pipe", "labels", {"training_features_list": ["%-a"],
                     "label_list": ["&-tb"]})  # fmt: skip


def _info(end: str) -> dict[str, object]:
    return {"train_start": "2025-01-01", "train_end": end}


def test_registry_writes_atomically_and_a_new_object_reads_the_same_state(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    reg.register("ETH/USDT", _artifacts("a"), _info("2025-02-01"), accepted=True)
    reg.register("ETH/USDT", _artifacts("b"), _info("2025-03-01"), accepted=False)
    assert not list(tmp_path.glob(".ETH_USDT.json.*"))  # no temporary file left behind
    again = ModelRegistry(tmp_path)
    assert again.load("ETH/USDT") == reg.load("ETH/USDT")
    assert again.pairs() == ["ETH/USDT"]
    assert again.load_artifacts("ETH/USDT", 2).model == {"tag": "b"}
    # The incumbent of a training must be older than it (no leak from a later window).
    assert reg.incumbent_for("ETH/USDT", "2025-03-15")["version"] == 1  # type: ignore[index]
    assert reg.incumbent_for("ETH/USDT", "2025-01-15") is None


def test_a_damaged_registry_file_is_named(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    reg.register("ETH/USDT", _artifacts("a"), _info("2025-02-01"), accepted=True)
    reg.file("ETH/USDT").write_text("{broken")
    with pytest.raises(RegistryError, match=r"ETH_USDT\.json is unreadable"):
        reg.load("ETH/USDT")


def test_pin_refuses_purged_or_unreadable_versions(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    for k in range(3):
        reg.register("ETH/USDT", _artifacts(str(k)), _info(f"2025-0{k + 2}-01"), True,
                     keep_versions=1)  # fmt: skip
    state = reg.load("ETH/USDT")
    assert [e["artifacts"] for e in state["versions"]] == [False, False, True]
    with pytest.raises(RegistryError, match="purged"):
        reg.pin("ETH/USDT", 1)
    (reg.version_dir("ETH/USDT", 3) / "model.joblib").write_bytes(b"x")
    with pytest.raises(RegistryError, match="unreadable"):
        reg.pin("ETH/USDT", 3)
    assert json.loads(reg.file("ETH/USDT").read_text())["pinned"] is None
