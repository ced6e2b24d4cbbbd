"""Which trades an analytics query looks at — one definition, applied by every query."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from tribar.analysis.ledger.schema import trades


def to_utc(value: datetime) -> datetime:
    """Aware UTC. Naive input is taken as UTC: the ledger stores UTC, and on PostgreSQL a naive
    parameter would otherwise be read in the session's time zone, on SQLite compared as text."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class TradeFilter:
    """Trades closed (``timestamp``, the close time) in ``[start, end)``, optionally restricted to
    some pairs, one strategy and live (``dry_run=False``) or dry-run (``True``) trades.

    ``None`` means "no restriction" for every field; an empty ``pairs`` also means all pairs.
    """

    start: datetime | None = None
    end: datetime | None = None
    pairs: tuple[str, ...] | None = None
    strategy: str | None = None
    dry_run: bool | None = None

    def __post_init__(self) -> None:
        if self.start is not None:
            object.__setattr__(self, "start", to_utc(self.start))
        if self.end is not None:
            object.__setattr__(self, "end", to_utc(self.end))
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"empty time window: start {self.start} is not before end {self.end}")
        pairs: Iterable[str] | None = self.pairs
        normalised = tuple(sorted(set(pairs))) if pairs else None
        object.__setattr__(self, "pairs", normalised)

    def clause(self, table: sa.Table = trades) -> sa.ColumnElement[bool]:
        """The WHERE condition; ``true()`` when nothing is filtered."""
        conds: list[sa.ColumnElement[bool]] = []
        if self.start is not None:
            conds.append(table.c.timestamp >= self.start)
        if self.end is not None:
            conds.append(table.c.timestamp < self.end)
        if self.pairs is not None:
            conds.append(table.c.symbol.in_(self.pairs))
        if self.strategy is not None:
            conds.append(table.c.strategy == self.strategy)
        if self.dry_run is not None:
            conds.append(table.c.dry_run == self.dry_run)
        return sa.and_(sa.true(), *conds)

    def describe(self) -> str:
        """One line for report headers: what was included."""
        parts: list[str] = []
        if self.start is not None or self.end is not None:
            lo = self.start.isoformat() if self.start else "…"
            hi = self.end.isoformat() if self.end else "…"
            parts.append(f"closed in [{lo}, {hi})")
        if self.pairs:
            parts.append("pairs " + ", ".join(self.pairs))
        if self.strategy is not None:
            parts.append(f"strategy {self.strategy}")
        if self.dry_run is not None:
            parts.append("dry-run only" if self.dry_run else "live only")
        return "; ".join(parts) if parts else "all trades"


def or_all(flt: TradeFilter | None) -> TradeFilter:
    """``None`` means every trade."""
    return flt if flt is not None else TradeFilter()
