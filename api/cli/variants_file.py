"""Variants files for `ontime whatif` (TOML), read with the line each mistake is on.

A variants file is TOML: optional defaults (`time_limit_s`, `seed`, `iterations`, and a
`[cost]` table with `per_km`, `per_hour`, `per_courier`), then one `[[variant]]` table per
variant with a `name` and its changes, either inline or as `[[variant.change]]` tables:

    time_limit_s = 5

    [[variant]]
    name = "two couriers off"
    changes = [{ kind = "remove_couriers", count = 2 }]

    [[variant]]
    name = "festival"
    [[variant.change]]
    kind = "demand_scale"
    factor = 1.3
    [[variant.change]]
    kind = "traffic"
    profile = [["07:30", "09:30", 1.4], ["17:00", "19:30", 1.4]]

Mistakes are reported with the file's line: TOML syntax by `tomllib`, meaning as
`[[variant]] #n` and the key (e.g. `changes[1].factor`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optimizer.errors import ProblemIssue


class VariantFileError(ValueError):
    """A variants file that cannot be used; the message names the line and key."""


@dataclass
class VariantFile:
    """What a variants file asks for: variants `(name, changes)` and run defaults."""

    variants: list[tuple[str, list[dict[str, Any]]]]
    time_limit_s: float | None = None
    seed: int | None = None
    iterations: int | None = None
    cost: dict[str, float] = field(default_factory=dict)
    lines: dict[tuple[int, int | None, str | None], int] = field(default_factory=dict)

    def line_of(self, issue_field: str) -> int | None:
        """The file line an issue named `variant[i].changes[j].key` is about, best match."""
        match = re.match(r"variant\[(\d+)\](?:\.changes\[(\d+)\](?:\.(\w+))?)?(?:\.(\w+))?", issue_field)
        if match is None:
            return None
        variant = int(match.group(1))
        change = int(match.group(2)) if match.group(2) is not None else None
        key = match.group(3) or match.group(4)
        probes = [(variant, change, key), (variant, change, None), (variant, None, key)]
        if change is not None:
            probes.append((variant, None, "changes"))  # an inline list
        for probe in (*probes, (variant, None, None)):
            if probe in self.lines:
                return self.lines[probe]
        return None


_HEADER = re.compile(r"^\s*\[\[\s*variant(?:\s*\.\s*(change))?\s*\]\]")
_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")
_ALLOWED_TOP = {"time_limit_s", "seed", "iterations", "cost", "variant"}


def read_variant_file(path: Path) -> VariantFile:
    """Read and check the shape of a variants file (the changes' meaning is checked later)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise VariantFileError(f"{path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise VariantFileError(f"{path}: not valid TOML: {exc}") from None
    lines = _locate(text)

    def where(variant: int, key: str | None = None) -> str:
        line = lines.get((variant, None, key)) or lines.get((variant, None, None))
        return f"{path}{f' line {line}' if line else ''}, [[variant]] #{variant + 1}"

    unknown = sorted(set(data) - _ALLOWED_TOP)
    if unknown:
        raise VariantFileError(
            f"{path}: unknown top-level key {unknown[0]!r}; known: {', '.join(sorted(_ALLOWED_TOP))}"
        )
    raw = data.get("variant")
    if not isinstance(raw, list) or not raw:
        raise VariantFileError(f"{path}: no [[variant]] tables; add one per variant, with a name and changes")
    variants: list[tuple[str, list[dict[str, Any]]]] = []
    for k, table in enumerate(raw):
        extra = sorted(set(table) - {"name", "changes", "change"})
        if extra:
            raise VariantFileError(
                f"{where(k, extra[0])}: unknown key {extra[0]!r} (use name, changes or [[variant.change]])"
            )
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise VariantFileError(f"{where(k, 'name')}: name must be a non-empty string")
        if "changes" in table and "change" in table:
            raise VariantFileError(
                f"{where(k, 'changes')}: give changes inline or as [[variant.change]] tables, not both"
            )
        changes = table.get("changes", table.get("change", []))
        if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
            raise VariantFileError(f"{where(k, 'changes')}: changes must be a list of tables with a kind")
        variants.append((name, changes))
    cost = data.get("cost", {})
    if not isinstance(cost, dict) or set(cost) - {"per_km", "per_hour", "per_courier"}:
        raise VariantFileError(f"{path}: [cost] holds only per_km, per_hour and per_courier")
    out = VariantFile(variants, lines=lines, cost={k: float(v) for k, v in cost.items()})
    for key, kind in (("time_limit_s", float), ("seed", int), ("iterations", int)):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
                raise VariantFileError(f"{path}: {key} must be a {'whole ' if kind is int else ''}number")
            setattr(out, key, kind(value))
    return out


def _locate(text: str) -> dict[tuple[int, int | None, str | None], int]:
    """Line numbers (1-based) of each `[[variant]]`, `[[variant.change]]` and the keys in them."""
    lines: dict[tuple[int, int | None, str | None], int] = {}
    variant, change, inside = -1, None, False
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            if header.group(1):
                change = 0 if change is None else change + 1
            else:
                variant, change = variant + 1, None
            inside = variant >= 0
            lines.setdefault((variant, change, None), number)
        elif line.lstrip().startswith("["):
            inside = False  # another table, e.g. [cost]
        elif inside and (key := _KEY.match(line)):
            lines.setdefault((variant, change, key.group(1)), number)
    return lines


def explain_issues(path: Path, spec: VariantFile, issues: Sequence[ProblemIssue]) -> list[str]:
    """Each issue as `FILE line N, [[variant]] #n 'name': changes[j].key: message`."""
    out = []
    for issue in issues:
        match = re.match(r"variant\[(\d+)\]\.?(.*)", issue.field)
        if match is None:
            out.append(f"{path}: {issue}")
            continue
        k = int(match.group(1))
        line = spec.line_of(issue.field)
        name = spec.variants[k][0] if k < len(spec.variants) else ""
        key = match.group(2) or "name"
        kind = f" ({issue.id})" if issue.id and issue.id != name else ""
        out.append(
            f"{path}{f' line {line}' if line else ''}, [[variant]] #{k + 1} {name!r}: {key}{kind}: {issue.message}"
        )
    return out
