"""UTC helpers. Decisions take the clock as an argument; this module only normalises it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime.

    Naive datetimes are read as UTC because that is how Freqtrade stores them
    (``Trade.open_date`` is naive UTC); aware ones are converted.
    """
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def start_of_utc_day(moment: datetime) -> datetime:
    """Midnight UTC at the start of ``moment``'s UTC day (the daily-loss window opens here)."""
    utc = as_utc(moment)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


def next_utc_midnight(moment: datetime) -> datetime:
    """The first midnight UTC strictly after ``moment`` (the daily-loss lock ends here)."""
    return start_of_utc_day(moment) + timedelta(days=1)
