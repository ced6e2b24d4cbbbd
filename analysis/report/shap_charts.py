"""The SHAP charts ``tribar features`` saves (a bar chart and a beeswarm, PNG) as a section of the
HTML report.

Each chart is embedded as a data URI, so the page stays self-contained (it can be moved or
mailed), and links to its file by a path relative to the page, for the full-size image.
When neither file exists the section says so and how to make them.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from tribar.ml.shap_files import BAR_PNG, BEESWARM_PNG

CHARTS = (
    (BAR_PNG, "Mean |SHAP| per feature, over the saved trainings"),
    (BEESWARM_PNG, "SHAP value per training row (beeswarm)"),
)
NOT_FOUND = "No SHAP analysis found (run tribar features)."
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ShapChart:
    title: str
    path: Path
    modified: datetime
    png: bytes


def find_charts(directory: Path) -> tuple[list[ShapChart], list[str]]:
    """The charts in ``directory``, and a sentence for each file there that is not a PNG."""
    charts: list[ShapChart] = []
    problems: list[str] = []
    for name, title in CHARTS:
        path = directory / name
        if not path.is_file():
            continue
        try:
            data = path.read_bytes()
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except OSError as exc:
            problems.append(f"{path} is unreadable ({exc}); expected a PNG from tribar features")
            continue
        if not data.startswith(_PNG_SIGNATURE):
            problems.append(f"{path} is not a PNG image; expected the chart tribar features writes")
            continue
        charts.append(ShapChart(title, path, modified, data))
    return charts, problems


def relative_href(target: Path, page_dir: Path) -> str:
    """A link from a page in ``page_dir`` to ``target``: relative when both are on one drive."""
    try:
        relative = os.path.relpath(target.resolve(), page_dir.resolve())
    except ValueError:  # another drive (Windows): only an absolute file URI reaches it
        return target.resolve().as_uri()
    return quote(Path(relative).as_posix())


def section_html(directory: Path, page_dir: Path) -> str:
    """The report's "Model features (SHAP)" section."""
    charts, problems = find_charts(directory)
    warnings = "".join(f'<p class="warning">{html.escape(p)}</p>' for p in problems)
    if not charts:
        names = " and ".join(name for name, _ in CHARTS)
        content = (
            f'<p class="empty">{html.escape(NOT_FOUND)}</p>'
            f'<p class="note">Looked for {html.escape(names)} in {html.escape(str(directory))} '
            "(tribar report --shap-dir to look elsewhere).</p>"
        )
        return _section(warnings + content)
    newest = max(c.modified for c in charts)
    note = (
        f"From tribar features, written {newest:%Y-%m-%d %H:%M} UTC: what the saved models rely "
        "on, not a property of the trades above. Click a chart for the full-size file."
    )
    figures = "".join(
        f'<figure><a href="{html.escape(relative_href(c.path, page_dir))}">'
        f'<img src="data:image/png;base64,{base64.b64encode(c.png).decode("ascii")}" '
        f'alt="{html.escape(c.title)}"></a>'
        f"<figcaption>{html.escape(c.title)} ({html.escape(c.path.name)})</figcaption></figure>"
        for c in charts
    )
    return _section(f'{warnings}<p class="note">{html.escape(note)}</p>{figures}')


def _section(content: str) -> str:
    return f'<section class="shap" id="shap"><h2>Model features (SHAP)</h2>{content}</section>'
