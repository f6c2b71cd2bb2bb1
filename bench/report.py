"""BENCHMARKS.md: each benchmark rewrites only the section between its own markers."""

from __future__ import annotations

import re
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
PREAMBLE = (
    "# Benchmarks\n\nNumbers measured on the development machine. Sections between "
    "the bench markers are rewritten by the benchmark that owns them.\n"
)


def section_write(section: str, *, start: str, end: str, report: Path = REPORT) -> None:
    """Replace the text from ``start`` to ``end`` with ``section`` (which holds both
    markers), or append it when the markers are not there yet."""
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    if start in text and end in text:
        text = re.sub(
            re.escape(start) + ".*?" + re.escape(end),
            lambda _match: section,
            text,
            flags=re.DOTALL,
        )
    else:
        text = (text or PREAMBLE).rstrip("\n") + "\n\n" + section + "\n"
    report.write_text(text, encoding="utf-8")
