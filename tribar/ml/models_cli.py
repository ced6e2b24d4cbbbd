"""``tribar models list|show|pin|unpin|rollback``: the model registry of a FreqAI identifier
(docs/lifecycle.md). A running bot serves a pinned or rolled-back version from its next candle."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tribar.ml.registry import REGISTRY_DIR, ModelRegistry, RegistryError


def _models_dir(args: argparse.Namespace) -> Path:
    if args.models is not None:
        return Path(args.models)
    config = Path(args.config)
    try:
        identifier = json.loads(config.read_text())["freqai"]["identifier"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RegistryError(
            f"no --models given and no freqai.identifier readable in {config} ({exc}); pass "
            "--models user_data/models/<identifier>"
        ) from exc
    user_data = Path(args.userdir) if args.userdir is not None else Path("user_data")
    return user_data / "models" / str(identifier)


def _registry(args: argparse.Namespace) -> ModelRegistry:
    models = _models_dir(args)
    directory = models / REGISTRY_DIR
    if not directory.is_dir():
        raise RegistryError(
            f"no model registry in {models} (expected {directory}, written by every training "
            "of TripleBarrierLGBM)"
        )
    return ModelRegistry(directory)


def _num(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):+.1f}%"


def _cmd_list(args: argparse.Namespace, console: Console) -> int:
    registry = _registry(args)
    table = Table(title=f"model registry {registry.directory}")
    for column in ("pair", "serving", "pinned", "versions", "rejected", "latest", "decision"):
        table.add_column(column)
    for pair in registry.pairs():
        try:
            state = registry.load(pair)
        except RegistryError as exc:
            table.add_row(pair, "?", "?", "?", "?", "?", str(exc))
            continue
        versions = state["versions"]
        latest = versions[-1] if versions else {}
        decision = latest.get("decision", {})
        table.add_row(
            pair,
            "-" if state["serving"] is None else f"v{state['serving']}",
            "-" if state["pinned"] is None else f"v{state['pinned']}",
            str(len(versions)),
            str(sum(e["status"] == "rejected" for e in versions)),
            f"v{latest['version']} to {latest['train_end']}" if latest else "-",
            "; ".join(decision.get("reasons", [])),
        )
    console.print(table)
    return 0


def _cmd_show(args: argparse.Namespace, console: Console) -> int:
    registry = _registry(args)
    state = registry.load(args.pair)
    if not state["versions"]:
        raise RegistryError(f"{args.pair}: no versions in {registry.directory}")
    pinned = "-" if state["pinned"] is None else f"v{state['pinned']}"
    table = Table(title=f"{args.pair}: serving v{state['serving']}, pinned {pinned}")
    for column in ("ver", "status", "pin", "trained", "files", "AUC in", "AUC out", "AUC gap",
                   "LL in", "LL out", "LL gap", "overfit", "edge gate", "decision"):  # fmt: skip
        table.add_column(column)
    for e in state["versions"]:
        metrics, gap = e.get("metrics", {}), e.get("overfitting", {})
        ins, oos = metrics.get("in_sample", {}), metrics.get("out_of_sample", {})
        gate = e.get("edge_gate_passed")
        table.add_row(
            f"v{e['version']}", e["status"], "yes" if e.get("pinned") else "",
            f"{str(e.get('train_start'))[:10]} to {str(e.get('train_end'))[:16]}",
            "kept" if e.get("artifacts") else "purged",
            _num(ins.get("auc")), _num(oos.get("auc")), _pct(gap.get("auc_gap")),
            _num(ins.get("log_loss"), 4), _num(oos.get("log_loss"), 4),
            _pct(gap.get("log_loss_gap")), "WARN" if gap.get("warning") else "",
            "-" if gate is None else ("passed" if gate else "not passed"),
            "; ".join(e.get("decision", {}).get("reasons", [])),
        )  # fmt: skip
    console.print(table)
    console.print("AUC/LL in: train block; out: the purged newest block (calibration) it did not "
                  "train on. gap: relative, WARN above 10%.")  # fmt: skip
    if args.json:
        console.print_json(json.dumps(state, default=str))
    return 0


def _cmd_pin(args: argparse.Namespace, console: Console) -> int:
    entry = _registry(args).pin(args.pair, args.version)
    console.print(f"{args.pair}: v{entry['version']} pinned and serving; new trainings are "
                  "rejected until `tribar models unpin`")  # fmt: skip
    return 0


def _cmd_unpin(args: argparse.Namespace, console: Console) -> int:
    state = _registry(args).unpin(args.pair)
    console.print(f"{args.pair}: no pin; v{state['serving']} serves until a new model passes")
    return 0


def _cmd_rollback(args: argparse.Namespace, console: Console) -> int:
    registry = _registry(args)
    before = registry.load(args.pair)["serving"]
    entry = registry.rollback(args.pair, args.to)
    console.print(f"{args.pair}: rolled back from v{before} to v{entry['version']} (trained to "
                  f"{entry['train_end']})")  # fmt: skip
    return 0


def _run(args: argparse.Namespace) -> int:
    console = Console(width=200)
    handlers = {"list": _cmd_list, "show": _cmd_show, "pin": _cmd_pin, "unpin": _cmd_unpin,
                "rollback": _cmd_rollback}  # fmt: skip
    try:
        return handlers[args.models_command](args, console)
    except RegistryError as exc:
        print(f"tribar models {args.models_command}: {exc}", file=sys.stderr)
        return 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "models", help="model registry: versions, champion/challenger decisions, pin, rollback"
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--models", type=Path, default=None,
                        help="FreqAI's models folder of one identifier (default: "
                             "<userdir>/models/<freqai.identifier of --config>)")  # fmt: skip
    common.add_argument("--userdir", type=Path, default=None,
                        help="the bot's user data folder (default user_data; a replay's "
                             "--run-dir is one)")  # fmt: skip
    common.add_argument("-c", "--config", default="config.json",
                        help="config with the freqai.identifier (default config.json)")  # fmt: skip
    sub = parser.add_subparsers(dest="models_command", required=True)
    sub.add_parser("list", parents=[common], help="every pair: serving, pinned, last decision")
    show = sub.add_parser("show", parents=[common], help="every version of a pair, with metrics")
    show.add_argument("pair")
    show.add_argument("--json", action="store_true", help="also print the registry file")
    pin = sub.add_parser("pin", parents=[common], help="serve a version and keep it serving")
    pin.add_argument("pair")
    pin.add_argument("version", type=int)
    unpin = sub.add_parser("unpin", parents=[common], help="let new trainings replace the pin")
    unpin.add_argument("pair")
    rollback = sub.add_parser("rollback", parents=[common],
                              help="serve the previous good version (or --to VERSION)")  # fmt: skip
    rollback.add_argument("pair")
    rollback.add_argument("--to", type=int, default=None)
    parser.set_defaults(func=_run)
