"""A real Prometheus (Debian's ``prometheus`` binary) on loopback, for end-to-end tests.

Its configuration is deploy/prometheus/prometheus.yml with the scrape target replaced by the
exporter under test, a short scrape/evaluation interval and the shipped rule files, so what the
tests evaluate is what the compose stack would run. Also: splitting an alert expression into
the operands of its top-level comparisons (``operands``), for alerts that are empty when not
firing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tribar.testing.replay_bot import REPO_ROOT, free_port

DEPLOY_DIR = REPO_ROOT / "deploy" / "prometheus"
SCRAPE_JOB = "tribar"


class PrometheusError(RuntimeError):
    pass


def scrape_config(
    source: Path, target: str, rules: Sequence[Path], interval: str = "1s"
) -> dict[str, Any]:
    """``source`` (prometheus.yml) with job ``tribar``'s targets replaced by ``target``, the
    given rule files, and ``interval`` for scraping and rule evaluation."""
    config: dict[str, Any] = yaml.safe_load(source.read_text())
    config.setdefault("global", {}).update(scrape_interval=interval, evaluation_interval=interval)
    config["rule_files"] = [str(p) for p in rules]
    jobs = [j for j in config.get("scrape_configs", []) if j.get("job_name") == SCRAPE_JOB]
    if len(jobs) != 1:
        raise PrometheusError(f"{source}: expected one scrape job {SCRAPE_JOB!r}, got {len(jobs)}")
    for static in jobs[0].get("static_configs", []):
        static["targets"] = [target]
    return config


@dataclass
class PrometheusServer:
    """``with PrometheusServer(work_dir, "127.0.0.1:9108") as prom: prom.query("up")``."""

    work_dir: Path
    target: str
    rules: Sequence[Path] = field(
        default_factory=lambda: sorted((DEPLOY_DIR / "rules").glob("*.yml"))
    )
    source: Path = DEPLOY_DIR / "prometheus.yml"
    interval: str = "1s"
    port: int = field(default_factory=free_port)
    binary: str = "prometheus"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> PrometheusServer:
        exe = shutil.which(self.binary)
        if exe is None:
            raise PrometheusError(
                f"{self.binary} not found; install Debian's prometheus (scripts/system-deps.sh)"
            )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config_file = self.work_dir / "prometheus.yml"
        config = scrape_config(self.source, self.target, self.rules, self.interval)
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        log = (self.work_dir / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                exe,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={self.work_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                # Debian's default console paths need not exist in a temp dir.
                f"--web.console.templates={self.work_dir}",
                f"--web.console.libraries={self.work_dir}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrometheusError(
                    f"prometheus exited with {self.process.returncode}: {self.log()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.2)
        raise PrometheusError(f"prometheus not ready after {timeout:.0f} s: {self.log()}")

    def log(self, lines: int = 30) -> str:
        path = self.work_dir / "prometheus.log"
        text = path.read_text(errors="replace") if path.is_file() else ""
        return "\n".join(text.splitlines()[-lines:])

    def api(self, endpoint: str, **params: str) -> Any:
        """GET /api/v1/<endpoint>; the ``data`` of a success, PrometheusError otherwise."""
        url = f"{self.url}/api/v1/{endpoint}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:  # 400/422: a bad query, with Prometheus's reason
            body = json.loads(exc.read() or b"{}")
        if body.get("status") != "success":
            raise PrometheusError(
                f"{endpoint} {params}: {body.get('errorType')}: {body.get('error')}"
            )
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the result vector (a scalar comes back as one pseudo-sample)."""
        data = self.api("query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def wait_for_scrapes(self, count: int, timeout: float = 60.0) -> None:
        """Until the target has been scraped successfully ``count`` times."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            samples = self.query(f'count_over_time(up{{job="{SCRAPE_JOB}"}}[10m])')
            healthy = self.query(f'up{{job="{SCRAPE_JOB}"}} == 1')
            if samples and healthy and float(samples[0]["value"][1]) >= count:
                return
            time.sleep(0.5)
        raise PrometheusError(
            f"target {self.target} not scraped {count} times: {self.api('targets')}"
        )

    def stop(self, timeout: float = 30.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return int(self.process.returncode)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- PromQL: top-level operands ------------------------------------------------------------

_COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
_SET_OPERATORS = ("and", "or", "unless")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_ARITHMETIC = re.compile(r"^[+-]?\s*(\d+(\.\d*)?|\.\d+)\s*[*/]\s*(.+)$", re.S)


def _top_level_split(expr: str, operators: Sequence[str], words: bool) -> list[str]:
    """Split ``expr`` at ``operators`` outside (), [], {} and quotes."""
    parts: list[str] = []
    depth, quote, start, i = 0, "", 0, 0
    while i < len(expr):
        ch = expr[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            for op in operators:
                if not expr.startswith(op, i):
                    continue
                if words:
                    before = expr[i - 1] if i else " "
                    after = expr[i + len(op)] if i + len(op) < len(expr) else " "
                    if before.isalnum() or before == "_" or after.isalnum() or after == "_":
                        continue
                elif op in (">", "<") and expr.startswith(op + "=", i):
                    continue
                parts.append(expr[start:i])
                i += len(op)
                start = i
                break
            else:
                i += 1
                continue
            continue
        i += 1
    parts.append(expr[start:])
    return [p.strip() for p in parts]


def _strip_modifiers(operand: str) -> str:
    # "bool" / "on(...)" / "ignoring(...)" / "group_left(...)" bind to the operator before
    # the right-hand operand.
    text = operand.strip()
    pattern = re.compile(
        r"^(bool|on\s*\([^)]*\)|ignoring\s*\([^)]*\)|group_(left|right)(\s*\([^)]*\))?)\s*"
    )
    while True:
        match = pattern.match(text)
        if not match:
            return text
        text = text[match.end() :]


def operands(expr: str) -> list[str]:
    """The non-literal operands of ``expr``'s top-level set operators and comparisons, e.g.
    ``a > 10 and delta(a[15m]) > 0`` -> ``["a", "delta(a[15m])"]``; ``[expr]`` when it has
    none. A number times an operand (``2 * max(x)``) gives the operand. Each returned
    expression yields data whenever its series exist, where the comparison may filter all
    of it away."""
    result: list[str] = []
    for clause in _top_level_split(expr.strip(), _SET_OPERATORS, words=True):
        clause = _strip_modifiers(clause)
        sides = _top_level_split(clause, _COMPARISONS, words=False)
        if len(sides) == 1:
            result.append(clause)
            continue
        for side in sides:
            side = _strip_modifiers(side)
            match = _ARITHMETIC.match(side)
            if match:
                side = match.group(3).strip()
            if not _NUMBER.match(side):
                result.append(side)
    return result


def substitute_grafana_variables(expr: str, values: dict[str, str]) -> str:
    """``$var``, ``${var}``, ``${var:fmt}`` and ``[[var]]`` replaced by ``values[var]``;
    Grafana's interval variables by a fixed range."""
    builtins = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
    merged = {**builtins, **values}

    def replace(match: re.Match[str]) -> str:
        name = match.group("a") or match.group("b") or match.group("c")
        if name not in merged:
            raise KeyError(f"Grafana variable ${name} has no test value")
        return merged[name]

    pattern = r"\$\{(?P<a>\w+)(?::\w+)?\}|\[\[(?P<b>\w+)\]\]|\$(?P<c>\w+)"
    return re.sub(pattern, replace, expr)
