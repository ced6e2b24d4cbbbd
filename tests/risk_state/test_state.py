from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tribar.risk.circuit_breaker import Halt
from tribar.risk.state import STATE_KEY, RiskState, RiskStateError, parse, serialise

_moments = st.datetimes(timezones=st.just(UTC))
_halts = st.builds(Halt, st.text(min_size=1), st.text(), _moments, st.none() | _moments)
_states = st.builds(
    RiskState,
    st.none() | st.floats(allow_nan=False, allow_infinity=False),
    st.lists(_halts, max_size=4).map(tuple),
    st.none() | st.dates(),
)


@given(_states)
def test_round_trip(state: RiskState) -> None:
    assert parse(serialise(state)) == state


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("not json", "JSON object"),
        ("[]", "JSON object"),
        ('{"version": 99, "halts": []}', "version"),
        ('{"version": 1, "halts": {}}', "halts"),
        ('{"version": 1, "halts": [], "equity_peak": "x"}', "equity_peak"),
        ('{"version": 1, "halts": [{"key": "dd", "reason": "r", "since": "x"}]}', "since"),
        (
            '{"version": 1, "halts": [{"key": "dd", "reason": "r", "since": "2026-01-01T00:00"}]}',
            "timezone",
        ),
    ],
)
def test_corrupt_values_name_key_and_expectation(value: str, fragment: str) -> None:
    with pytest.raises(RiskStateError, match=fragment) as info:
        parse(value)
    assert STATE_KEY in str(info.value)
