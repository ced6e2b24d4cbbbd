"""Regenerate tribar/vendor/frequi/frequi-icons.json: the icons FreqUI's bundle names, taken from
Iconify's icon-set packages, so FreqUI shows them without asking api.iconify.design.

Run after replacing the vendored FreqUI archive (maintainers; the npm registry serves the sets):

    cd "$(mktemp -d)" && npm pack @iconify-json/mdi @iconify-json/lucide
    for f in *.tgz; do mkdir "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}" --strip-components=1; done
    python scripts/frequi_offline_icons.py --icon-set-dir "$PWD"/iconify-json-mdi-* \
        --icon-set-dir "$PWD"/iconify-json-lucide-*
"""

from __future__ import annotations

import argparse
import json
import re
import tarfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENDOR = REPO / "tribar" / "vendor" / "frequi"
# Nuxt UI names icons "i-<set>-<name>"; FreqUI also passes "<set>:<name>" to its icon component.
_ICON_NAME = re.compile(
    r"[`\"'](?:i-(?P<a_set>[a-z0-9]+)-(?P<a>[a-z0-9-]+)"
    r"|(?P<b_set>[a-z0-9]+):(?P<b>[a-z0-9-]+))[`\"']"
)


def icon_names(archive: Path, prefixes: set[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {p: set() for p in prefixes}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".js"):
                continue
            extracted = tar.extractfile(member)
            if extracted is None:
                continue
            text = extracted.read().decode("utf-8", "replace")
            for match in _ICON_NAME.finditer(text):
                prefix = match["a_set"] or match["b_set"]
                name = match["a"] or match["b"]
                if prefix in found:
                    found[prefix].add(name)
    return found


def subset(icon_set: dict[str, Any], names: set[str]) -> dict[str, Any]:
    icons: dict[str, Any] = icon_set["icons"]
    aliases: dict[str, Any] = icon_set.get("aliases", {})
    keep_icons: dict[str, Any] = {}
    keep_aliases: dict[str, Any] = {}
    for name in sorted(names):
        if name in icons:
            keep_icons[name] = icons[name]
        elif name in aliases:
            keep_aliases[name] = aliases[name]
            parent = aliases[name]["parent"]
            while parent in aliases:  # aliases may chain
                keep_aliases[parent] = aliases[parent]
                parent = aliases[parent]["parent"]
            keep_icons[parent] = icons[parent]
    out: dict[str, Any] = {"prefix": icon_set["prefix"], "icons": keep_icons}
    if keep_aliases:
        out["aliases"] = keep_aliases
    for key in ("width", "height"):
        if key in icon_set:
            out[key] = icon_set[key]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--icon-set-dir", type=Path, action="append", required=True)
    parser.add_argument("--archive", type=Path, default=VENDOR / "frequi-dist.tar.gz")
    parser.add_argument("-o", "--output", type=Path, default=VENDOR / "frequi-icons.json")
    args = parser.parse_args()

    sets: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for directory in args.icon_set_dir:
        icon_set = json.loads((directory / "icons.json").read_text())
        package = json.loads((directory / "package.json").read_text())
        info = json.loads((directory / "info.json").read_text())
        package["license_url"] = info.get("license", {}).get("url")
        sets[icon_set["prefix"]] = (icon_set, package)
    names = icon_names(args.archive, set(sets))
    collections = []
    for prefix, (icon_set, package) in sorted(sets.items()):
        part = subset(icon_set, names[prefix])
        missing = sorted(names[prefix] - set(part["icons"]) - set(part.get("aliases", {})))
        print(f"{prefix}: {len(names[prefix])} names, {len(missing)} not in the set {missing}")
        collections.append(
            {
                "package": f"{package['name']}@{package['version']}",
                "license": package.get("license"),
                "license_url": package.get("license_url"),
                "set": part,
            }
        )
    args.output.write_text(json.dumps({"collections": collections}, indent=1) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
