"""Model registry: every training of a pair as a numbered version on disk, with its metrics, the
champion/challenger decision, its status (serving / rejected / retired) and a pin.

Layout under a FreqAI identifier's folder (``user_data/models/<identifier>/tribar_registry``)::

    BTC_USDT.json              the pair's versions and which one serves (written atomically)
    BTC_USDT/v0003/            that version's own copy of what FreqAI needs to predict with it
        model.joblib  feature_pipeline.pkl  label_pipeline.pkl  metadata.json  trained_df.pkl

The copies outlive FreqAI's ``purge_old_models`` (which deletes old ``sub-train-*`` folders), so
an incumbent, a pinned version or a rollback target stays loadable. ``keep_versions`` bounds how
many versions keep their files; the serving and the pinned version always keep theirs.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cloudpickle
import pandas as pd

REGISTRY_DIR = "tribar_registry"
FORMAT = 1

SERVING, REJECTED, RETIRED = "serving", "rejected", "retired"

_FILES = ("model.joblib", "feature_pipeline.pkl", "label_pipeline.pkl", "metadata.json")


class RegistryError(ValueError):
    pass


@dataclass
class Artifacts:
    """What FreqAI's data kitchen needs to predict with one version."""

    model: Any
    feature_pipeline: Any
    label_pipeline: Any
    metadata: dict[str, Any]  # FreqAI's dk.data (training_features_list, label_list, ...)
    trained_df: pd.DataFrame | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _safe(pair: str) -> str:
    return pair.replace("/", "_").replace(":", "_")


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync, rename: a crash leaves the old or the
    new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ModelRegistry:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    # ---- files -------------------------------------------------------------------------------

    def file(self, pair: str) -> Path:
        return self.directory / f"{_safe(pair)}.json"

    def version_dir(self, pair: str, version: int) -> Path:
        return self.directory / _safe(pair) / f"v{version:04d}"

    @contextmanager
    def _locked(self, pair: str) -> Iterator[None]:
        """One writer at a time per pair (the bot's training thread and `tribar models`)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / f".{_safe(pair)}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def pairs(self) -> list[str]:
        out = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                out.append(str(json.loads(path.read_text())["pair"]))
            except (OSError, ValueError, KeyError, TypeError):
                out.append(path.stem)
        return out

    def load(self, pair: str) -> dict[str, Any]:
        """The pair's registry; an empty one when there is no file yet."""
        path = self.file(pair)
        if not path.exists():
            return {"format": FORMAT, "pair": pair, "serving": None, "pinned": None,
                    "versions": [], "events": []}  # fmt: skip
        try:
            state = json.loads(path.read_text())
            if not isinstance(state, dict) or not isinstance(state.get("versions"), list):
                raise ValueError("no 'versions' list")
        except (OSError, ValueError) as exc:
            raise RegistryError(
                f"model registry {path} is unreadable ({exc}); expected the JSON file tribar "
                "writes (move it away to start a new registry for this pair)"
            ) from exc
        return state

    def _save(self, state: dict[str, Any]) -> None:
        _atomic_write(self.file(state["pair"]), json.dumps(state, indent=1, default=str).encode())

    # ---- queries -----------------------------------------------------------------------------

    @staticmethod
    def entry(state: dict[str, Any], version: int) -> dict[str, Any]:
        for entry in state["versions"]:
            if entry["version"] == version:
                return dict(entry)
        known = [e["version"] for e in state["versions"]]
        raise RegistryError(f"{state['pair']} has no version {version}; versions: {known}")

    def serving(self, pair: str) -> dict[str, Any] | None:
        state = self.load(pair)
        return None if state["serving"] is None else self.entry(state, state["serving"])

    def incumbent_for(self, pair: str, train_end: str) -> dict[str, Any] | None:
        """The model in service for a training ending at ``train_end``: the pinned version, else
        the serving one, else the newest version that ever served, each only if it was trained
        on data before ``train_end`` (a registry left by a later backtest window never leaks
        into an earlier one) and still has its files."""
        state = self.load(pair)
        end = pd.Timestamp(train_end)

        def usable(entry: dict[str, Any]) -> bool:
            return bool(entry.get("artifacts")) and pd.Timestamp(entry["train_end"]) < end

        for key in ("pinned", "serving"):
            if state[key] is not None:
                entry = self.entry(state, state[key])
                if usable(entry):
                    return entry
        served = [e for e in state["versions"] if e.get("served_at") and usable(e)]
        return max(served, key=lambda e: pd.Timestamp(e["train_end"])) if served else None

    def fallbacks(self, pair: str) -> list[dict[str, Any]]:
        """Versions to try when the model in service cannot be read: the serving (or pinned)
        version first, then every other version that served, newest first."""
        state = self.load(pair)
        first = [state[k] for k in ("pinned", "serving") if state[k] is not None]
        served = sorted(
            (e for e in state["versions"] if e.get("served_at") and e.get("artifacts")),
            key=lambda e: int(e["version"]), reverse=True,
        )  # fmt: skip
        ordered = [self.entry(state, v) for v in dict.fromkeys(first)]
        ordered += [e for e in served if e["version"] not in first]
        return [e for e in ordered if e.get("artifacts")]

    # ---- artifacts ---------------------------------------------------------------------------

    def load_artifacts(self, pair: str, version: int) -> Artifacts:
        folder = self.version_dir(pair, version)
        try:
            with (folder / "model.joblib").open("rb") as fh:
                model = cloudpickle.load(fh)
            with (folder / "feature_pipeline.pkl").open("rb") as fh:
                feature_pipeline = cloudpickle.load(fh)
            with (folder / "label_pipeline.pkl").open("rb") as fh:
                label_pipeline = cloudpickle.load(fh)
            metadata = json.loads((folder / "metadata.json").read_text())
            trained = folder / "trained_df.pkl"
            trained_df = pd.read_pickle(trained) if trained.exists() else None
        except Exception as exc:  # unpickling can raise almost anything on a damaged file
            raise RegistryError(
                f"{pair} v{version}: files in {folder} unreadable ({type(exc).__name__}: {exc})"
            ) from exc
        return Artifacts(model, feature_pipeline, label_pipeline, metadata, trained_df)

    def _write_artifacts(self, pair: str, version: int, artifacts: Artifacts) -> None:
        folder = self.version_dir(pair, version)
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / "model.joblib", cloudpickle.dumps(artifacts.model))
        pipeline = cloudpickle.dumps(artifacts.feature_pipeline)
        _atomic_write(folder / "feature_pipeline.pkl", pipeline)
        _atomic_write(folder / "label_pipeline.pkl", cloudpickle.dumps(artifacts.label_pipeline))
        _atomic_write(
            folder / "metadata.json", json.dumps(artifacts.metadata, default=str).encode()
        )
        if artifacts.trained_df is not None:
            artifacts.trained_df.to_pickle(folder / "trained_df.pkl")

    # ---- changes -----------------------------------------------------------------------------

    def register(
        self, pair: str, artifacts: Artifacts, info: dict[str, Any], accepted: bool,
        keep_versions: int = 5,
    ) -> dict[str, Any]:  # fmt: skip
        """Add a version (files first, then the JSON). Accepted and nothing pinned: it serves
        and the previous serving version retires; otherwise it is rejected. Returns the entry."""
        with self._locked(pair):
            state = self.load(pair)
            version = 1 + max((int(e["version"]) for e in state["versions"]), default=0)
            metrics = getattr(artifacts.model, "metrics", None)
            if isinstance(metrics, dict):
                # The saved model knows its version, so a running bot can tell which one it has.
                metrics["registry_version"] = version
            self._write_artifacts(pair, version, artifacts)
            serves = accepted and state["pinned"] is None
            entry: dict[str, Any] = {
                **info, "version": version, "created_at": _now(),
                "status": SERVING if serves else REJECTED, "pinned": False,
                "served_at": _now() if serves else None, "artifacts": True,
            }  # fmt: skip
            if serves:
                self._retire_serving(state)
                state["serving"] = version
            state["versions"].append(entry)
            self._event(state, "trained", version, "serving" if serves else "rejected")
            self._purge(state, keep_versions)
            self._save(state)
            return dict(entry)

    def pin(self, pair: str, version: int) -> dict[str, Any]:
        """Serve ``version`` and keep it serving: later candidates are rejected until unpinned."""
        with self._locked(pair):
            state = self.load(pair)
            entry = self.entry(state, version)
            if not entry.get("artifacts"):
                raise RegistryError(f"{pair} v{version}: its model files were purged; cannot pin")
            self.load_artifacts(pair, version)  # refuse a version that would not load
            self._serve(state, version)
            for e in state["versions"]:
                e["pinned"] = e["version"] == version
            state["pinned"] = version
            self._event(state, "pin", version, "")
            self._save(state)
            return self.entry(state, version)

    def unpin(self, pair: str) -> dict[str, Any]:
        with self._locked(pair):
            state = self.load(pair)
            for e in state["versions"]:
                e["pinned"] = False
            previous, state["pinned"] = state["pinned"], None
            self._event(state, "unpin", previous, "")
            self._save(state)
            return state

    def rollback(self, pair: str, to: int | None = None) -> dict[str, Any]:
        """Serve ``to`` or, by default, the newest earlier version that served and still loads.
        The version rolled back from is retired; a pin moves to the new version."""
        with self._locked(pair):
            state = self.load(pair)
            current = state["serving"]
            if to is None:
                earlier = sorted(
                    (e for e in state["versions"] if e.get("served_at") and e.get("artifacts")
                     and (current is None or e["version"] < current)),
                    key=lambda e: int(e["version"]), reverse=True,
                )  # fmt: skip
                if not earlier:
                    raise RegistryError(
                        f"{pair}: no earlier version that served and still has its files "
                        f"(serving: v{current})"
                    )
                to = int(earlier[0]["version"])
            entry = self.entry(state, to)
            if not entry.get("artifacts"):
                raise RegistryError(f"{pair} v{to}: its model files were purged")
            self.load_artifacts(pair, to)
            self._serve(state, to)
            if state["pinned"] is not None:
                for e in state["versions"]:
                    e["pinned"] = e["version"] == to
                state["pinned"] = to
            self._event(state, "rollback", to, f"from v{current}")
            self._save(state)
            return self.entry(state, to)

    def _serve(self, state: dict[str, Any], version: int) -> None:
        if state["serving"] != version:
            self._retire_serving(state)
        for e in state["versions"]:
            if e["version"] == version:
                e["status"] = SERVING
                e["served_at"] = e.get("served_at") or _now()
        state["serving"] = version

    @staticmethod
    def _retire_serving(state: dict[str, Any]) -> None:
        for e in state["versions"]:
            if e["version"] == state["serving"]:
                e["status"] = RETIRED
                e["retired_at"] = _now()

    @staticmethod
    def _event(state: dict[str, Any], action: str, version: int | None, note: str) -> None:
        state.setdefault("events", []).append(
            {"at": _now(), "action": action, "version": version, "note": note}
        )
        del state["events"][:-200]  # a long-running bot must not grow the file without bound

    def _purge(self, state: dict[str, Any], keep: int) -> None:
        """Delete the files of all but the newest ``keep`` versions (never the serving or the
        pinned one); the entries stay, marked ``artifacts: false``."""
        protected = {state["serving"], state["pinned"]}
        with_files = sorted(
            (e for e in state["versions"] if e.get("artifacts")),
            key=lambda e: int(e["version"]), reverse=True,
        )  # fmt: skip
        for e in with_files[keep:]:
            if e["version"] in protected:
                continue
            shutil.rmtree(self.version_dir(state["pair"], int(e["version"])), ignore_errors=True)
            e["artifacts"] = False
