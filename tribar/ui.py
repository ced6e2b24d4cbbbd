"""``tribar ui …``: install the vendored FreqUI build where ``freqtrade install-ui`` cannot run.

``freqtrade install-ui`` downloads a FreqUI release from GitHub and unpacks it into the installed
Freqtrade package (``freqtrade/rpc/api_server/ui/installed/``, version in ``.uiversion``), where
the REST API server serves it at ``/``. Without GitHub this module does the same from the build
shipped in ``tribar/vendor/frequi/`` (GPL-3.0, provenance in its README and ``frequi.json``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from filelock import FileLock, Timeout

VENDORED_DIR = Path(__file__).resolve().parent / "vendor" / "frequi"
MANIFEST_NAME = "frequi.json"
# Everything in the archive lives under this folder; its contents go into ``installed/``.
ARCHIVE_ROOT = "dist"
VERSION_FILE = ".uiversion"
ICONS_NAME = "frequi-icons.json"
# FreqUI loads its icons from api.iconify.design at run time. Iconify reads icon data from
# ``window.IconifyPreload`` when it starts, so a classic script that runs before FreqUI's module
# (which browsers defer) makes every icon the bundle names work offline.
ICONS_SCRIPT = "tribar-offline-icons.js"
_ICONS_TAG = f'<script src="/{ICONS_SCRIPT}"></script>'


class FrequiInstallError(RuntimeError):
    """The vendored FreqUI build is missing or corrupt, or cannot be installed."""


@dataclass(frozen=True)
class FrequiBuild:
    version: str
    archive: Path
    sha256: str
    # Iconify icon data for the icons the bundle names (scripts/frequi_offline_icons.py).
    icons: Path | None = None


@dataclass(frozen=True)
class InstallResult:
    version: str
    destination: Path
    changed: bool


def freqtrade_ui_dir() -> Path:
    """The folder Freqtrade's web server serves FreqUI from (the same path install-ui uses)."""
    import freqtrade

    # Importing freqtrade.rpc.api_server would load FastAPI and uvicorn just to find a folder.
    return Path(freqtrade.__file__).resolve().parent / "rpc" / "api_server" / "ui" / "installed"


def load_vendored_build(directory: Path = VENDORED_DIR) -> FrequiBuild:
    manifest_path = directory / MANIFEST_NAME
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        version = str(manifest["version"])
        archive = directory / str(manifest["archive"])
        sha256 = str(manifest["archive_sha256"]).lower()
    except FileNotFoundError as exc:
        raise FrequiInstallError(f"FreqUI manifest {manifest_path} is missing") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FrequiInstallError(f"FreqUI manifest {manifest_path} is unreadable: {exc}") from exc
    icons = directory / ICONS_NAME
    return FrequiBuild(
        version=version, archive=archive, sha256=sha256, icons=icons if icons.is_file() else None
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _checked_members(build: FrequiBuild) -> list[tarfile.TarInfo]:
    """Open the archive and return its members after checking checksum and paths."""
    if not build.archive.is_file():
        raise FrequiInstallError(
            f"FreqUI archive {build.archive} is missing; reinstall tribar, or run "
            "'freqtrade install-ui' where GitHub is reachable"
        )
    actual = _sha256(build.archive)
    if actual != build.sha256:
        raise FrequiInstallError(
            f"FreqUI archive {build.archive} is corrupt: SHA-256 {actual}, expected {build.sha256}"
        )
    try:
        with tarfile.open(build.archive, "r:gz") as tar:
            members = tar.getmembers()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise FrequiInstallError(f"FreqUI archive {build.archive} is corrupt: {exc}") from exc
    for member in members:
        parts = PurePosixPath(member.name).parts
        if not parts or parts[0] != ARCHIVE_ROOT or ".." in parts or member.name.startswith("/"):
            raise FrequiInstallError(f"unexpected path in FreqUI archive: {member.name!r}")
        if not (member.isfile() or member.isdir()):
            raise FrequiInstallError(f"FreqUI archive may hold only files: {member.name!r}")
    if not any(m.name == f"{ARCHIVE_ROOT}/index.html" and m.isfile() for m in members):
        raise FrequiInstallError(f"FreqUI archive {build.archive} has no {ARCHIVE_ROOT}/index.html")
    return members


def _relative(member: tarfile.TarInfo) -> PurePosixPath:
    return PurePosixPath(*PurePosixPath(member.name).parts[1:])


def installed_version(destination: Path | None = None) -> str | None:
    from freqtrade.commands.deploy_ui import read_ui_version

    return read_ui_version(destination or freqtrade_ui_dir())


def _icons_script(build: FrequiBuild) -> bytes | None:
    if build.icons is None:
        return None
    try:
        data = json.loads(build.icons.read_text())
        sets = [collection["set"] for collection in data["collections"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FrequiInstallError(f"FreqUI icon data {build.icons} is unreadable: {exc}") from exc
    packages = ", ".join(str(c.get("package")) for c in data["collections"])
    return (
        f"// Written by 'tribar ui install': icons FreqUI uses, from {packages}.\n"
        f"window.IconifyPreload = {json.dumps(sets, separators=(',', ':'))};\n"
    ).encode()


def _with_icons_tag(index_html: bytes) -> bytes:
    text = index_html.decode("utf-8")
    if _ICONS_TAG in text:
        return index_html
    if "</title>" not in text:
        raise FrequiInstallError("FreqUI's index.html has no <title>; cannot add the icon script")
    return text.replace("</title>", f"</title>\n  {_ICONS_TAG}", 1).encode("utf-8")


def _expected_files(
    build: FrequiBuild, members: list[tarfile.TarInfo]
) -> tuple[dict[PurePosixPath, int], dict[PurePosixPath, bytes]]:
    """Files an intact install has: archive files by size, files tribar writes by content."""
    sizes = {_relative(m): m.size for m in members if m.isfile()}
    written: dict[PurePosixPath, bytes] = {}
    script = _icons_script(build)
    if script is not None:
        index = PurePosixPath("index.html")
        with tarfile.open(build.archive, "r:gz") as tar:
            extracted = tar.extractfile(f"{ARCHIVE_ROOT}/index.html")
            assert extracted is not None  # _checked_members made sure it is a file
            written[index] = _with_icons_tag(extracted.read())
        del sizes[index]
        written[PurePosixPath(ICONS_SCRIPT)] = script
    return sizes, written


def _install_matches(
    destination: Path,
    build: FrequiBuild,
    sizes: dict[PurePosixPath, int],
    written: dict[PurePosixPath, bytes],
) -> bool:
    if installed_version(destination) != build.version:
        return False
    # Also compare the files, so a second run repairs a half-deleted or edited install.
    for relative, size in sizes.items():
        target = destination / relative
        if not target.is_file() or target.stat().st_size != size:
            return False
    for relative, content in written.items():
        target = destination / relative
        if not target.is_file() or target.read_bytes() != content:
            return False
    return True


def install_frequi(
    destination: Path | None = None, build: FrequiBuild | None = None, *, force: bool = False
) -> InstallResult:
    """Install ``build`` (default: the vendored one) like ``freqtrade install-ui``: empty the
    folder, unpack ``dist/``'s contents into it, write ``.uiversion``. With the build's icon
    data, also writes ``tribar-offline-icons.js`` and loads it from ``index.html``. Does nothing
    when that version is already installed intact, unless ``force``."""
    build = build or load_vendored_build()
    destination = (destination or freqtrade_ui_dir()).resolve()
    members = _checked_members(build)
    sizes, written = _expected_files(build, members)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        # Test sessions and a user's shell may install at the same time; one at a time.
        with FileLock(destination.parent / ".tribar-ui-install.lock", timeout=120):
            if not force and _install_matches(destination, build, sizes, written):
                return InstallResult(build.version, destination, changed=False)
            _unpack(build, members, written, destination)
    except (OSError, Timeout) as exc:
        raise FrequiInstallError(f"cannot install FreqUI into {destination}: {exc}") from exc
    return InstallResult(build.version, destination, changed=True)


def _unpack(
    build: FrequiBuild,
    members: list[tarfile.TarInfo],
    written: dict[PurePosixPath, bytes],
    destination: Path,
) -> None:
    from freqtrade.commands.deploy_ui import clean_ui_subdir

    destination.mkdir(parents=True, exist_ok=True)
    # Unpack next to the destination first: a failure midway leaves the old UI in place.
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".frequi-") as tmp:
        with tarfile.open(build.archive, "r:gz") as tar:
            tar.extractall(tmp, members=members, filter="data")
        clean_ui_subdir(destination)
        unpacked = Path(tmp) / ARCHIVE_ROOT
        for relative, content in written.items():
            (unpacked / relative).write_bytes(content)
        for entry in unpacked.iterdir():
            shutil.move(str(entry), destination / entry.name)
    (destination / VERSION_FILE).write_text(build.version)


def _cmd_install(args: argparse.Namespace) -> int:
    try:
        result = install_frequi(args.dest, force=args.force)
    except FrequiInstallError as exc:
        print(f"tribar ui install: {exc}", file=sys.stderr)
        return 2
    state = "installed" if result.changed else "already installed"
    print(f"FreqUI {result.version} {state} in {result.destination}")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    destination = args.dest or freqtrade_ui_dir()
    version = installed_version(destination)
    bundled = load_vendored_build()
    if version is None or not (destination / "index.html").is_file():
        print(f"FreqUI not installed in {destination} (bundled: {bundled.version})")
        return 1
    print(f"FreqUI {version} installed in {destination} (bundled: {bundled.version})")
    return 0


def register(sub: Any) -> None:
    ui = sub.add_parser("ui", help="FreqUI, Freqtrade's web interface, without GitHub")
    ui_sub = ui.add_subparsers(dest="ui_command", required=True)
    for name, func, help_text in (
        ("install", _cmd_install, "install the bundled FreqUI build into Freqtrade (offline)"),
        ("status", _cmd_status, "show which FreqUI version Freqtrade serves"),
    ):
        cmd = ui_sub.add_parser(name, help=help_text)
        cmd.add_argument(
            "--dest",
            type=Path,
            default=None,
            help="UI folder (default: the installed Freqtrade's rpc/api_server/ui/installed)",
        )
        if name == "install":
            cmd.add_argument(
                "--force", action="store_true", help="reinstall even if this version is there"
            )
        cmd.set_defaults(func=func)
