"""Merge the reports each test suite wrote into the two files Sonar reads, and check they cover every part.

    python scripts/quality/reports.py [--reports .dev/reports] [--root .] [--out-dir .]

- `.coverage.<suite>` files are combined into `coverage.xml` (Cobertura). Every file name is made relative
  to the repository root (`user-service/user_service/...`, `libs/servicekit/servicekit/...`) and the one
  `<source>` is `.`, so the report resolves the same on any checkout path and inside a scanner container.
- `junit-<suite>.xml` files are merged into `test-results.xml`, one `<testsuite>` per suite, each
  `<testcase>` given the `file` it comes from, which is how Sonar attaches results to test files.
- Then both are checked: every service and the shared package must have measured code in `coverage.xml`
  and tests in `test-results.xml`. Exit status 1 (with the reason) when not, or when reports are missing.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import xml.etree.ElementTree as ET  # our own test runs wrote these reports: trusted input
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from layout import COMPONENTS, ROOT, component_of

COUNTS = ("tests", "failures", "errors", "skipped")


class ReportError(Exception):
    """Reports missing, or not covering what they must."""


@dataclass(frozen=True)
class Merged:
    coverage_xml: Path
    junit_xml: Path


def find_reports(reports_dir: Path) -> tuple[list[Path], list[Path]]:
    """The coverage data files and JUnit files a `make test` run left, in a stable order."""
    data_files = sorted(reports_dir.glob(".coverage.*"))
    junit_files = sorted(reports_dir.glob("junit-*.xml"))
    if not data_files or not junit_files:
        raise ReportError(
            f"no reports in {reports_dir} (need .coverage.<suite> and junit-<suite>.xml): run `make test` first"
        )
    return data_files, junit_files


def write_coverage_xml(data_files: Sequence[Path], root: Path, out: Path) -> None:
    """Combine coverage data files (kept) into one Cobertura report with root-relative file names."""
    import coverage  # the tool venv has it; imported here so `--help` works with any Python

    config = root / "pyproject.toml"
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(root):
        cov = coverage.Coverage(
            data_file=str(Path(tmp) / ".coverage"), config_file=str(config) if config.exists() else False
        )
        cov.combine([str(path) for path in data_files], keep=True)
        cov.xml_report(outfile=str(out), ignore_errors=True)
    relativize_coverage_xml(out, root)


def relativize_coverage_xml(report: Path, root: Path) -> None:
    """Rewrite each class's file name relative to `root`, and make `.` the only source."""
    tree = ET.parse(report)  # noqa: S314
    doc = tree.getroot()
    sources = [Path(source.text or "") for source in doc.iter("source")]
    outside = []
    for cls in doc.iter("class"):
        name = cls.get("filename", "")
        path = _locate(name, sources, root)
        if path is None:
            outside.append(name)
            continue
        cls.set("filename", path)
    if outside:
        raise ReportError(f"{report}: files outside {root}: {', '.join(sorted(outside)[:5])}")
    for sources_element in doc.iter("sources"):
        sources_element.clear()
        ET.SubElement(sources_element, "source").text = "."
    tree.write(report, encoding="utf-8", xml_declaration=True)


def _locate(name: str, sources: Sequence[Path], root: Path) -> str | None:
    base = root.resolve()
    candidates = [Path(name)] if Path(name).is_absolute() else [source / name for source in sources] + [root / name]
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved.is_file() and resolved.is_relative_to(base):
            return resolved.relative_to(base).as_posix()
    return None


def merge_junit(junit_files: Sequence[Path], root: Path, out: Path) -> None:
    """One `<testsuites>` holding every suite, named after its file (`junit-room-service.xml`: room-service)."""
    merged = ET.Element("testsuites", name="meeting-room-reservation-system")
    totals = dict.fromkeys(COUNTS, 0)
    elapsed = 0.0
    for path in junit_files:
        doc = ET.parse(path).getroot()  # noqa: S314
        suites = [doc] if doc.tag == "testsuite" else list(doc.iter("testsuite"))
        for suite in suites:
            suite.set("name", path.stem.removeprefix("junit-"))
            for case in suite.iter("testcase"):
                test_file = _test_file(case.get("classname", ""), root)
                if test_file:
                    case.set("file", test_file)
            for key in COUNTS:
                totals[key] += int(suite.get(key, "0"))
            elapsed += float(suite.get("time", "0"))
            merged.append(suite)
    for key, value in totals.items():
        merged.set(key, str(value))
    merged.set("time", f"{elapsed:.3f}")
    ET.indent(merged)
    ET.ElementTree(merged).write(out, encoding="utf-8", xml_declaration=True)


def _test_file(classname: str, root: Path) -> str | None:
    """pytest's classname is the test file's path from the root, dotted, maybe followed by class names."""
    parts = classname.split(".")
    for end in range(len(parts), 0, -1):
        candidate = "/".join(parts[:end]) + ".py"
        if (root / candidate).is_file():
            return candidate
    return None


def check_coverage_xml(report: Path) -> dict[str, int]:
    """Measured lines per component; every component must have some."""
    lines = dict.fromkeys((c.name for c in COMPONENTS), 0)
    for cls in ET.parse(report).getroot().iter("class"):  # noqa: S314
        filename = cls.get("filename", "")
        component = component_of(filename)
        if component and filename.startswith(f"{component.code}/"):
            lines[component.name] += sum(1 for _ in cls.iter("line"))
    missing = [name for name, count in lines.items() if count == 0]
    if missing:
        raise ReportError(f"{report}: no measured code of {', '.join(missing)}")
    return lines


def check_junit_xml(report: Path) -> dict[str, int]:
    """Test cases per component (by the test file they come from); every component must have some."""
    cases = dict.fromkeys((c.name for c in COMPONENTS), 0)
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314
        filename = case.get("file", "")
        component = component_of(filename)
        if component and filename.startswith(f"{component.tests}/"):
            cases[component.name] += 1
    missing = [name for name, count in cases.items() if count == 0]
    if missing:
        raise ReportError(f"{report}: no test results of {', '.join(missing)}")
    return cases


def merge(reports_dir: Path, root: Path, out_dir: Path) -> Merged:
    data_files, junit_files = find_reports(reports_dir)
    merged = Merged(out_dir / "coverage.xml", out_dir / "test-results.xml")
    write_coverage_xml(data_files, root, merged.coverage_xml)
    merge_junit(junit_files, root, merged.junit_xml)
    return merged


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    parser.add_argument("--reports", type=Path, help="folder of the suites' reports (default: ROOT/.dev/reports)")
    parser.add_argument("--out-dir", type=Path, help="where coverage.xml and test-results.xml go (default: ROOT)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        merged = merge(args.reports or root / ".dev" / "reports", root, args.out_dir or root)
        lines = check_coverage_xml(merged.coverage_xml)
        cases = check_junit_xml(merged.junit_xml)
    except ReportError as error:
        print(f"reports: {error}", file=sys.stderr)
        return 1
    print(f"reports: {merged.coverage_xml} ({', '.join(f'{k} {v} lines' for k, v in lines.items())})")
    print(f"reports: {merged.junit_xml} ({', '.join(f'{k} {v} tests' for k, v in cases.items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
