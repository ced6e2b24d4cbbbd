"""The edge gate: AUC standard error with overlapping labels, and the pass/fail decision."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tribar.ml.edge_gate import auc_standard_error, edge_evidence


@given(positives=st.integers(1, 5000), negatives=st.integers(1, 5000))
def test_at_auc_half_it_is_the_exact_null_variance_of_mann_whitney(
    positives: int, negatives: int
) -> None:
    # Var(U / (n1 n2)) under H0 = (n1 + n2 + 1) / (12 n1 n2): an independent formula.
    exact = math.sqrt((positives + negatives + 1) / (12 * positives * negatives))
    assert auc_standard_error(0.5, positives, negatives) == pytest.approx(exact, rel=1e-12)


@settings(max_examples=50)
@given(auc=st.floats(0.5, 0.99), n=st.integers(5, 2000))
def test_more_independent_rows_shrink_the_standard_error(auc: float, n: int) -> None:
    assert auc_standard_error(auc, 2 * n, 6 * n) < auc_standard_error(auc, n, 3 * n)


def test_noise_does_not_pass_and_a_real_signal_does() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(480) < 0.27).astype(int)
    noise = rng.random(480)
    signal = np.clip(0.25 + 0.5 * y + rng.normal(0, 0.15, 480), 0, 1)
    assert not edge_evidence(y, noise, overlap=24, z_required=1.645).passed
    passed = edge_evidence(y, signal, overlap=24, z_required=1.645)
    assert passed.passed and passed.auc is not None and passed.auc > 0.9


def test_label_overlap_divides_the_evidence() -> None:
    """The same scores, counted as 24x fewer independent outcomes: z falls by about sqrt(24)."""
    rng = np.random.default_rng(5)
    y = (rng.random(2000) < 0.3).astype(int)
    scores = 0.3 + 0.05 * y + rng.normal(0, 0.2, 2000)
    one = edge_evidence(y, scores, overlap=1, z_required=1.645)
    many = edge_evidence(y, scores, overlap=24, z_required=1.645)
    assert one.z is not None and many.z is not None
    assert one.z / many.z == pytest.approx(math.sqrt(24), rel=0.1)
    assert one.passed and not many.passed


def test_too_few_independent_outcomes_never_pass() -> None:
    y = np.array([0] * 40 + [1] * 10)  # 10 positives / 24 overlap < 1 effective positive
    evidence = edge_evidence(y, y.astype(float), overlap=24, z_required=0.0)
    assert not evidence.passed and evidence.auc is None
    assert not edge_evidence(np.zeros(100), np.random.rand(100), 1, 0.0).passed


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="overlap"):
        edge_evidence([0, 1], [0.1, 0.2], overlap=0, z_required=1.0)
    with pytest.raises(ValueError, match="NaN"):
        edge_evidence([0, 1], [0.1, np.nan], overlap=1, z_required=1.0)
    with pytest.raises(ValueError, match="rows"):
        edge_evidence([0, 1, 1], [0.1, 0.2], overlap=1, z_required=1.0)
