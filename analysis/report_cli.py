"""CLI commands of this part of tribar.analysis, registered on the ``tribar`` parser."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this module's subcommands (each sets ``func(args) -> int``)."""
