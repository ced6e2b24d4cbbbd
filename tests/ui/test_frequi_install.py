"""``tribar ui install``: the vendored FreqUI build installs like ``freqtrade install-ui``."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from tribar.ui import (
    ICONS_SCRIPT,
    VENDORED_DIR,
    FrequiInstallError,
    freqtrade_ui_dir,
    install_frequi,
    installed_version,
    load_vendored_build,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _vendored_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "vendor"
    shutil.copytree(VENDORED_DIR, copy)
    return copy


def _write_archive(vendor: Path, members: dict[str, bytes]) -> None:
    """Replace the archive in a vendored copy and record its checksum in the manifest."""
    archive = vendor / "frequi-dist.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    manifest = json.loads((vendor / "frequi.json").read_text())
    manifest["archive_sha256"] = hashlib.sha256(archive.read_bytes()).hexdigest()
    (vendor / "frequi.json").write_text(json.dumps(manifest))


def test_vendored_build_has_licence_and_provenance() -> None:
    build = load_vendored_build()
    assert build.archive.is_file()
    assert "GNU GENERAL PUBLIC LICENSE" in (VENDORED_DIR / "LICENSE").read_text()
    readme = (VENDORED_DIR / "README.md").read_text()
    assert build.version in readme
    assert json.loads((VENDORED_DIR / "frequi.json").read_text())["source_commit"] in readme


def test_install_unpacks_dist_and_writes_version(tmp_path: Path) -> None:
    dest = tmp_path / "installed"
    result = install_frequi(dest)
    build = load_vendored_build()
    assert result.changed and result.version == build.version
    assert (dest / ".uiversion").read_text() == build.version
    assert installed_version(dest) == build.version
    with tarfile.open(build.archive) as tar:
        files = [m for m in tar.getmembers() if m.isfile()]
    assert len(files) > 50
    for member in files:
        relative = Path(member.name).relative_to("dist")
        assert (dest / relative).is_file(), relative
    index = (dest / "index.html").read_text()
    assert f'<script src="/{ICONS_SCRIPT}"></script>' in index
    assert "/assets/index-" in index  # FreqUI's own entry point is still there
    assert (dest / ICONS_SCRIPT).read_text().count("window.IconifyPreload") == 1


def test_second_install_changes_nothing_and_repairs_damage(tmp_path: Path) -> None:
    dest = tmp_path / "installed"
    install_frequi(dest)
    index_mtime = (dest / "index.html").stat().st_mtime_ns
    assert not install_frequi(dest).changed
    assert (dest / "index.html").stat().st_mtime_ns == index_mtime

    victim = next((dest / "assets").glob("*.js"))
    victim.unlink()
    assert install_frequi(dest).changed
    assert victim.is_file()

    (dest / "index.html").write_text("<html>edited</html>")
    assert install_frequi(dest).changed
    assert ICONS_SCRIPT in (dest / "index.html").read_text()
    assert install_frequi(dest, force=True).changed


def test_install_replaces_an_older_ui(tmp_path: Path) -> None:
    dest = tmp_path / "installed"
    (dest / "assets").mkdir(parents=True)
    (dest / "assets" / "old-ui.js").write_text("old")
    (dest / ".uiversion").write_text("2.0.0")
    install_frequi(dest)
    assert not (dest / "assets" / "old-ui.js").exists()
    assert installed_version(dest) == load_vendored_build().version


def test_missing_archive_is_a_clear_error(tmp_path: Path) -> None:
    vendor = _vendored_copy(tmp_path)
    (vendor / "frequi-dist.tar.gz").unlink()
    with pytest.raises(FrequiInstallError, match="missing"):
        install_frequi(tmp_path / "installed", load_vendored_build(vendor))
    assert not (tmp_path / "installed").exists()


def test_corrupt_archive_is_rejected_and_old_ui_kept(tmp_path: Path) -> None:
    dest = tmp_path / "installed"
    install_frequi(dest)
    vendor = _vendored_copy(tmp_path)
    archive = vendor / "frequi-dist.tar.gz"
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(FrequiInstallError, match="corrupt"):
        install_frequi(dest, load_vendored_build(vendor), force=True)
    assert (dest / "index.html").is_file()


def test_truncated_archive_with_matching_checksum_is_rejected(tmp_path: Path) -> None:
    vendor = _vendored_copy(tmp_path)
    archive = vendor / "frequi-dist.tar.gz"
    archive.write_bytes(archive.read_bytes()[:4000])
    manifest = json.loads((vendor / "frequi.json").read_text())
    manifest["archive_sha256"] = hashlib.sha256(archive.read_bytes()).hexdigest()
    (vendor / "frequi.json").write_text(json.dumps(manifest))
    with pytest.raises(FrequiInstallError, match="corrupt"):
        install_frequi(tmp_path / "installed", load_vendored_build(vendor))


def test_archive_paths_outside_dist_are_refused(tmp_path: Path) -> None:
    vendor = _vendored_copy(tmp_path)
    _write_archive(vendor, {"dist/index.html": b"<title>x</title>", "dist/../../evil.txt": b"x"})
    with pytest.raises(FrequiInstallError, match="unexpected path"):
        install_frequi(tmp_path / "a" / "installed", load_vendored_build(vendor))
    assert not list(tmp_path.rglob("evil.txt"))


def test_archive_without_index_is_refused(tmp_path: Path) -> None:
    vendor = _vendored_copy(tmp_path)
    _write_archive(vendor, {"dist/assets/app.js": b"1"})
    with pytest.raises(FrequiInstallError, match=r"index\.html"):
        install_frequi(tmp_path / "installed", load_vendored_build(vendor))


def test_every_icon_the_bundle_names_is_bundled() -> None:
    spec = importlib.util.spec_from_file_location(
        "frequi_offline_icons", REPO_ROOT / "scripts" / "frequi_offline_icons.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bundled = json.loads((VENDORED_DIR / "frequi-icons.json").read_text())
    sets = {c["set"]["prefix"]: c["set"] for c in bundled["collections"]}
    names = module.icon_names(load_vendored_build().archive, set(sets))
    assert sum(len(n) for n in names.values()) > 50
    for prefix, wanted in names.items():
        have = set(sets[prefix]["icons"]) | set(sets[prefix].get("aliases", {}))
        assert wanted <= have, (prefix, sorted(wanted - have))


def test_vendored_files_are_package_data() -> None:
    """``pip install`` (not only a clone) must ship the archive, licences and icon data."""
    setuptools_cfg = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    package = "tribar.vendor.frequi"
    assert package in setuptools_cfg["packages"]
    patterns = setuptools_cfg["package-data"][package]
    for path in VENDORED_DIR.iterdir():
        if path.name != "__pycache__":
            assert any(fnmatch(path.name, p) for p in patterns), path.name


def test_cli_install_and_status(tmp_path: Path) -> None:
    dest = tmp_path / "installed"

    def tribar(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tribar.cli", "ui", *args, "--dest", str(dest)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    status = tribar("status")
    assert status.returncode == 1 and "not installed" in status.stdout
    first = tribar("install")
    assert first.returncode == 0, first.stderr
    assert "installed in" in first.stdout and "already" not in first.stdout
    again = tribar("install")
    assert again.returncode == 0 and "already installed" in again.stdout
    status = tribar("status")
    assert status.returncode == 0 and load_vendored_build().version in status.stdout


def test_default_destination_is_freqtrades_ui_folder() -> None:
    import freqtrade.rpc.api_server.web_ui as web_ui

    # web_ui serves Path(__file__).parent / "ui/installed/".
    assert freqtrade_ui_dir() == (Path(web_ui.__file__).parent / "ui" / "installed").resolve()
