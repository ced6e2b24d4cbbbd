"""Number formats of docs/results.md (the end-to-end test parses them back)."""

from __future__ import annotations

import math

from tribar.evaluate.report import interval, num, pct, prob, table


def test_number_formats() -> None:
    assert pct(-0.07304) == "-7.30 %"
    assert pct(1.0) == "100.00 %"
    assert num(-1.8876) == "-1.89"
    assert prob(0.48561) == "0.486"
    assert num(math.inf) == "inf" and num(-math.inf) == "-inf"
    assert pct(math.nan) == "n/a" and prob(float("nan")) == "n/a"
    assert interval((-4.2498, 0.7801)) == "[-4.25, 0.78]"
    assert interval((0.46, 0.51), prob) == "[0.460, 0.510]"


def test_table_alignment_and_rows() -> None:
    text = table(["", "a", "b"], [["x", "1", "2"]])
    assert text.splitlines() == ["|  | a | b |", "|---|---:|---:|", "| x | 1 | 2 |"]
    assert table(["n", "t"], [], align="ll").splitlines()[1] == "|---|---|"
