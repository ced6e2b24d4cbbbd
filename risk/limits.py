"""The hard limits and sizing parameters, validated once at start-up.

Sources, lowest precedence first, merged key by key (``sizing`` too):

1. the defaults below (identical to the shipped ``config/risk_limits.json``),
2. the limits file: ``path`` if given, else the strategy config's ``tribar.risk_limits_file``,
3. the strategy config's ``tribar.risk_limits`` section.

So the file holds the account's limits and a config may tighten one of them for one bot. Any
unknown key, wrong type (strict: "100" is not a number, true is not 1), non-finite, negative or
contradictory value raises ``RiskConfigError`` naming the source, the key and what was expected,
so the bot stops at start instead of trading under a limit nobody meant.

Money limits are in the stake currency, which this project assumes to be a USD stablecoin.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from tribar.risk.kelly import DEFAULT_KELLY_FRACTION, DEFAULT_PAYOFF_PRIOR_STRENGTH
from tribar.risk.volatility import DEFAULT_BASELINE_WINDOW, DEFAULT_SCALE_MAX, DEFAULT_SCALE_MIN

CONFIG_SECTION = "tribar"
LIMITS_KEY = "risk_limits"
LIMITS_FILE_KEY = "risk_limits_file"
DEFAULT_LIMITS_FILE = Path("config/risk_limits.json")
DEFAULT_MAX_POSITION_PCT = 0.10

STABLECOIN_PAIRS = ("(USDC|FDUSD|TUSD|USDP|DAI|BUSD)/.*",)

_STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)


class RiskConfigError(ValueError):
    """The risk limits cannot be used; ``problems`` lists one line per offending key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid risk limits:\n  " + "\n  ".join(problems))


def _contradiction(smaller: str, larger: str, values: Mapping[str, float]) -> PydanticCustomError:
    return PydanticCustomError(
        "contradictory_limits",
        "{smaller} ({smaller_value}) must not exceed {larger} ({larger_value})",
        {
            "smaller": smaller,
            "larger": larger,
            "smaller_value": values[smaller],
            "larger_value": values[larger],
        },
    )


class SizingParams(BaseModel):
    """How a trade is sized before the hard limits clamp it (see docs/risk.md)."""

    model_config = _STRICT

    kelly_fraction: float = Field(default=DEFAULT_KELLY_FRACTION, gt=0.0, le=1.0)
    max_position_pct: float = Field(default=DEFAULT_MAX_POSITION_PCT, gt=0.0, le=1.0)
    vol_scale_min: float = Field(default=DEFAULT_SCALE_MIN, gt=0.0)
    vol_scale_max: float = Field(default=DEFAULT_SCALE_MAX, gt=0.0)
    atr_baseline_window: int = Field(default=DEFAULT_BASELINE_WINDOW, ge=2)
    payoff_prior_strength: float = Field(default=DEFAULT_PAYOFF_PRIOR_STRENGTH, ge=0.0)

    @model_validator(mode="after")
    def _scale_bounds_ordered(self) -> SizingParams:
        if self.vol_scale_min > self.vol_scale_max:
            raise _contradiction("vol_scale_min", "vol_scale_max", self.model_dump())
        return self


class RiskLimits(BaseModel):
    """Limits no signal can override. Each is enforced in exactly one place (RiskManager)."""

    model_config = _STRICT

    max_position_value_usd: float = Field(default=150.0, gt=0.0)
    max_total_exposure_usd: float = Field(default=500.0, gt=0.0)
    max_daily_loss_usd: float = Field(default=50.0, gt=0.0)
    max_drawdown_pct: float = Field(default=15.0, gt=0.0, le=100.0)
    min_account_balance_usd: float = Field(default=800.0, ge=0.0)
    max_leverage: float = Field(default=1.0, ge=1.0, le=125.0)
    # Stablecoin-vs-stablecoin pairs: no directional edge to model, only fees.
    blacklist_symbols: list[str] = Field(default_factory=lambda: list(STABLECOIN_PAIRS))
    max_trades_per_hour: int = Field(default=6, ge=1)
    sizing: SizingParams = SizingParams()

    @field_validator("max_drawdown_pct")
    @classmethod
    def _drawdown_is_percent(cls, value: float) -> float:
        # Percent, not a ratio: 0.15 almost always means 15 %, and a 0.15 % halt would stop
        # the bot on its first losing candle.
        if value < 1.0:
            raise ValueError(
                f"max_drawdown_pct={value:g} is {value:g} %; the unit is percent, "
                f"write {value * 100:g} for {value * 100:g} % (a value in [1, 100])"
            )
        return value

    @field_validator("blacklist_symbols")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        # Freqtrade reads blacklist entries as regular expressions (e.g. "BNB/.*"), so a
        # pattern that does not compile would only fail later, inside the pairlist refresh.
        for pattern in patterns:
            if not pattern.strip():
                raise ValueError("entries must be non-empty pair names or regular expressions")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"{pattern!r} is not a valid regular expression ({exc}); "
                    "write '.*/BTC', not '*/BTC'"
                ) from exc
        return patterns

    @model_validator(mode="after")
    def _position_fits_in_exposure(self) -> RiskLimits:
        if self.max_position_value_usd > self.max_total_exposure_usd:
            raise _contradiction(
                "max_position_value_usd", "max_total_exposure_usd", self.model_dump()
            )
        return self


def _read_limits_file(path: Path) -> dict[str, Any]:
    def reject_constant(name: str) -> float:
        raise ValueError(f"{name} is not allowed")

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RiskConfigError(
            [f"{path}: cannot read the risk limits file ({exc.strerror})"]
        ) from exc
    try:
        data = json.loads(text, parse_constant=reject_constant)
    except ValueError as exc:
        raise RiskConfigError([f"{path}: not valid JSON ({exc})"]) from exc
    if not isinstance(data, dict):
        raise RiskConfigError(
            [f"{path}: expected a JSON object of limits, got {type(data).__name__}"]
        )
    return data


def _config_section(config: Mapping[str, Any]) -> tuple[dict[str, Any], Path | None]:
    """The ``tribar.risk_limits`` mapping and the ``tribar.risk_limits_file`` path, if any."""
    section = config.get(CONFIG_SECTION)
    if section is None:
        return {}, None
    if not isinstance(section, Mapping):
        raise RiskConfigError([f"config key {CONFIG_SECTION}: expected an object"])
    limits = section.get(LIMITS_KEY, {})
    if not isinstance(limits, Mapping):
        raise RiskConfigError([f"config key {CONFIG_SECTION}.{LIMITS_KEY}: expected an object"])
    file_name = section.get(LIMITS_FILE_KEY)
    if file_name is not None and not isinstance(file_name, str):
        raise RiskConfigError(
            [f"config key {CONFIG_SECTION}.{LIMITS_FILE_KEY}: expected a path string"]
        )
    return dict(limits), Path(file_name) if file_name else None


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if key == "sizing" and isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _source_of(key_path: tuple[str, ...], layers: list[tuple[str, Mapping[str, Any]]]) -> str:
    """Which layer supplied ``key_path`` (the last one that has it wins, as in the merge)."""
    for label, data in reversed(layers):
        node: Any = data
        for part in key_path:
            if not isinstance(node, Mapping) or part not in node:
                break
            node = node[part]
        else:
            return label
    return "built-in defaults"


def _field_for(key_path: tuple[str, ...]) -> tuple[type[BaseModel], str] | None:
    """The model and field name ``key_path`` refers to, if it names a known field."""
    model: type[BaseModel] = RiskLimits
    for depth, part in enumerate(key_path):
        info = model.model_fields.get(part)
        if info is None:
            return None
        if depth == len(key_path) - 1:
            return model, part
        annotation = info.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return None


# The unit of every percent or ratio field, appended to its error message.
_UNITS: dict[str, str] = {
    "max_drawdown_pct": "percent: 15 = 15 %",
    "max_position_pct": "a fraction of equity: 0.1 = 10 %",
    "kelly_fraction": "a multiplier on full Kelly: 0.5 = half Kelly",
    "vol_scale_min": "a multiplier on the stake: 1 = unscaled",
    "vol_scale_max": "a multiplier on the stake: 1 = unscaled",
}


def _expected(model: type[BaseModel], name: str) -> str:
    """What a field accepts, in words, with its unit (e.g. "a number in (0, 100] (percent…)")."""
    words = _expected_bounds(model, name)
    unit = _UNITS.get(name)
    return f"{words} ({unit})" if unit else words


def _expected_bounds(model: type[BaseModel], name: str) -> str:
    """What a field accepts, in words, from its type and bounds (e.g. "a number in (0, 100]")."""
    info = model.model_fields[name]
    if info.annotation == list[str]:
        return "a list of pair names or regular expressions"
    annotation = info.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "an object with keys " + ", ".join(annotation.model_fields)
    kind = "an integer" if annotation is int else "a number"
    low = high = ""
    for bound in info.metadata:
        if isinstance(bound, annotated_types.Gt):
            low = f"({bound.gt:g}"
        elif isinstance(bound, annotated_types.Ge):
            low = f"[{bound.ge:g}"
        elif isinstance(bound, annotated_types.Lt):
            high = f"{bound.lt:g})"
        elif isinstance(bound, annotated_types.Le):
            high = f"{bound.le:g}]"
    if low and high:
        return f"{kind} in {low}, {high}"
    if low:
        return f"{kind} {'>' if low[0] == '(' else '>='} {low[1:]}"
    if high:
        return f"{kind} {'<' if high[-1] == ')' else '<='} {high[:-1]}"
    return kind


def _describe(error: Any, layers: list[tuple[str, Mapping[str, Any]]]) -> str:
    loc = tuple(str(part) for part in error["loc"])
    ctx = error.get("ctx") or {}
    if error["type"] == "contradictory_limits":
        keys = [(*loc, ctx["smaller"]), (*loc, ctx["larger"])]
        sources = sorted({_source_of(k, layers) for k in keys})
        return f"{' and '.join(sources)}: {'.'.join(keys[0])}: {error['msg']}"
    # Items inside a list get an index in loc; the key is what a person looks for.
    key_path = tuple(part for part in loc if not part.isdigit())
    key = ".".join(key_path) if key_path else "(top level)"
    source = _source_of(key_path, layers)
    if error["type"] == "extra_forbidden":
        parent = _field_for(key_path[:-1]) if len(key_path) > 1 else None
        known = (
            RiskLimits.model_fields
            if parent is None
            else _nested_model(parent[0], parent[1]).model_fields
        )
        return f"{source}: {key}: unknown key (known keys: {', '.join(known)})"
    if error["type"] == "value_error":
        return f"{source}: {key}: {error['msg'].removeprefix('Value error, ')}"
    field = _field_for(key_path)
    expected = _expected(*field) if field else error["msg"]
    return f"{source}: {key}: expected {expected}, got {error['input']!r}"


def _nested_model(model: type[BaseModel], name: str) -> type[BaseModel]:
    annotation = model.model_fields[name].annotation
    assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation


def _check_against_wallet(limits: RiskLimits, config: Mapping[str, Any], source: str) -> None:
    # A floor at or above the starting dry-run wallet halts the bot on its first loop.
    wallet = config.get("dry_run_wallet")
    if not config.get("dry_run") or isinstance(wallet, bool) or not isinstance(wallet, int | float):
        return
    if limits.min_account_balance_usd >= wallet:
        raise RiskConfigError(
            [
                f"{source}: min_account_balance_usd ({limits.min_account_balance_usd}) must be "
                f"below dry_run_wallet ({wallet}), or the bot halts at once"
            ]
        )


def load_risk_limits(
    config: Mapping[str, Any] | None = None, path: Path | str | None = None
) -> RiskLimits:
    """Validated limits from the defaults, the limits file and the config section (that order).

    ``config`` is Freqtrade's config dict (the strategy's ``self.config``); ``path`` the limits
    file, falling back to ``config["tribar"]["risk_limits_file"]``; with neither, only the
    defaults and the config section apply. Raises ``RiskConfigError`` on any problem.
    """
    section: dict[str, Any] = {}
    file_path = Path(path) if path is not None else None
    if config is not None:
        section, configured_file = _config_section(config)
        file_path = file_path or configured_file
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if file_path is not None:
        layers.append((str(file_path), _read_limits_file(file_path)))
    layers.append((f"config key {CONFIG_SECTION}.{LIMITS_KEY}", section))

    merged: dict[str, Any] = {}
    for _, data in layers:
        merged = _merge(merged, data)
    try:
        limits = RiskLimits.model_validate(merged)
    except ValidationError as exc:
        raise RiskConfigError([_describe(error, layers) for error in exc.errors()]) from None
    if config is not None:
        _check_against_wallet(limits, config, _source_of(("min_account_balance_usd",), layers))
    return limits
