"""The local quality gate, stricter than SonarQube's default (80% on new code): run by `make test`.

    python scripts/quality/gate.py [coverage|duplicates|all] [--root .] [--reports .dev/reports]
                                   [--fail-under 90] [--min-lines 8]

- coverage: line coverage of each service and of the shared package, from the reports the suites wrote
  (all suites together: a line any suite ran counts), at least --fail-under percent each.
- duplicates: no block of --min-lines or more statements appears in two different components (a service
  or the shared package). Comments, docstrings and imports do not count; tests and Alembic revisions
  (frozen history) are not read. A block two services share belongs in servicekit.
Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import tokenize
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from layout import COMPONENTS, ROOT, Component
from reports import ReportError, find_reports, write_coverage_xml

FAIL_UNDER = 90.0
MIN_LINES = 8
SKIPPED_PARTS = {"tests", "build", "versions", "__pycache__"}
IGNORED_TOKENS = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}


# ---------------------------------------------------------------------------- coverage


def line_coverage(coverage_xml: Path) -> dict[str, tuple[int, int]]:
    """(covered, total) statement lines of each component's code in a Cobertura report."""
    import xml.etree.ElementTree as ET  # written by us a moment ago: trusted

    counts = {component.name: (0, 0) for component in COMPONENTS}
    for cls in ET.parse(coverage_xml).getroot().iter("class"):  # noqa: S314
        filename = cls.get("filename", "")
        for component in COMPONENTS:
            if filename.startswith(f"{component.code}/"):
                hits = [int(line.get("hits", "0")) for line in cls.iter("line")]
                covered, total = counts[component.name]
                counts[component.name] = (covered + sum(1 for h in hits if h > 0), total + len(hits))
    return counts


def check_coverage(root: Path, reports_dir: Path, fail_under: float) -> bool:
    data_files, _ = find_reports(reports_dir)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "coverage.xml"
        write_coverage_xml(data_files, root, report)
        counts = line_coverage(report)
    ok = True
    print(f"== line coverage per component (fail under {fail_under:g}%)")
    for name, (covered, total) in counts.items():
        percent = 100.0 * covered / total if total else 0.0
        verdict = "ok" if percent >= fail_under else f"FAIL ({fail_under - percent:.2f} points short)"
        ok = ok and percent >= fail_under
        print(f"  {name:<20} {percent:6.2f}%  {covered}/{total} lines  {verdict}")
    return ok


# ---------------------------------------------------------------------------- duplicates


@dataclass(frozen=True)
class Statement:
    line: int
    text: str


def statements(source: str) -> list[Statement]:
    """Logical lines as token text, without comments, docstrings or imports."""
    found: list[Statement] = []
    tokens: list[tokenize.TokenInfo] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in IGNORED_TOKENS:
            continue
        if token.type not in (tokenize.NEWLINE, tokenize.ENDMARKER):
            tokens.append(token)
            continue
        if tokens and not _ignored_statement(tokens):
            found.append(Statement(tokens[0].start[0], " ".join(t.string for t in tokens)))
        tokens = []
    return found


def _ignored_statement(tokens: list[tokenize.TokenInfo]) -> bool:
    first = tokens[0]
    is_docstring = len(tokens) == 1 and first.type == tokenize.STRING
    return is_docstring or first.string in ("import", "from")


def source_files(root: Path, component: Component) -> Iterable[Path]:
    folder = root / component.folder
    for path in sorted(folder.rglob("*.py")):
        if not SKIPPED_PARTS.intersection(path.relative_to(folder).parts):
            yield path


@dataclass(frozen=True)
class Place:
    component: str
    path: str
    index: int


def shared_blocks(root: Path, min_lines: int) -> list[str]:
    """Runs of at least `min_lines` statements found, identical, in two different components."""
    files, windows = _windows(root, min_lines)
    pairs = {
        (a.path, a.index, b.path, b.index)
        for places in windows.values()
        for a in places
        for b in places
        if a.component < b.component
    }
    runs = []
    for path_a, start_a, path_b, start_b in sorted(pairs):
        if (path_a, start_a - 1, path_b, start_b - 1) in pairs:
            continue  # inside a run already reported from its start
        length = min_lines
        while (path_a, start_a + length - min_lines + 1, path_b, start_b + length - min_lines + 1) in pairs:
            length += 1
        runs.append(f"{_span(files, path_a, start_a, length)} ~ {_span(files, path_b, start_b, length)}")
    return runs


def _windows(root: Path, min_lines: int) -> tuple[dict[str, list[Statement]], dict[tuple[str, ...], list[Place]]]:
    """Each file's statements, and where each run of `min_lines` consecutive statements occurs."""
    files: dict[str, list[Statement]] = {}
    windows: dict[tuple[str, ...], list[Place]] = defaultdict(list)
    for component in COMPONENTS:
        for path in source_files(root, component):
            rel = path.relative_to(root).as_posix()
            files[rel] = statements(path.read_text(encoding="utf-8"))
            texts = [s.text for s in files[rel]]
            for i in range(len(texts) - min_lines + 1):
                windows[tuple(texts[i : i + min_lines])].append(Place(component.name, rel, i))
    return files, windows


def _span(files: dict[str, list[Statement]], path: str, start: int, length: int) -> str:
    return f"{path}:{files[path][start].line}-{files[path][start + length - 1].line}"


def check_duplicates(root: Path, min_lines: int) -> bool:
    runs = shared_blocks(root, min_lines)
    print(f"== blocks shared between components ({min_lines} statements or more)")
    for run in runs:
        print(f"  {run}")
    print(f"  {len(runs)} found" + (": move the shared code into libs/servicekit" if runs else ""))
    return not runs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("check", nargs="?", choices=("coverage", "duplicates", "all"), default="all")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    parser.add_argument("--reports", type=Path, help="folder of the suites' reports (default: ROOT/.dev/reports)")
    parser.add_argument("--fail-under", type=float, default=FAIL_UNDER, help="least line coverage, percent")
    parser.add_argument("--min-lines", type=int, default=MIN_LINES, help="statements that make a shared block")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    ok = True
    if args.check in ("duplicates", "all"):
        ok = check_duplicates(root, args.min_lines) and ok
    if args.check in ("coverage", "all"):
        try:
            ok = check_coverage(root, args.reports or root / ".dev" / "reports", args.fail_under) and ok
        except ReportError as error:
            print(f"gate: {error}", file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
