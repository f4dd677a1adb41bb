"""Report merging and the local quality gate, on a small repository made here: real coverage data and
JUnit files, merged by `run-sonar-scan.sh --report-only` and checked by scripts/quality/gate.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from devstack.stack import ROOT

COMPONENTS = {  # folder -> package
    "libs/servicekit": "servicekit",
    "user-service": "user_service",
    "room-service": "room_service",
    "reservation-service": "reservation_service",
}
HALF_RUN = '''\
"""Half of this module runs in the tests."""


def used(x: int) -> int:
    y = x + 1
    return y * 2


def unused(x: int) -> int:
    y = x - 1
    return y * 3
'''


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, check=False)


def junit(classname: str, names: list[str]) -> str:
    cases = "".join(f'<testcase classname="{classname}" name="{n}" time="0.01"/>' for n in names)
    return (
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
        f'<testsuite name="pytest" errors="0" failures="0" skipped="0" tests="{len(names)}" time="0.5">'
        f"{cases}</testsuite></testsuites>"
    )


def make_repo(root: Path, *, measured: tuple[str, ...] = tuple(COMPONENTS.values())) -> Path:
    """A repository of four components, each with one half-run module, and the reports of its suites."""
    sources = ", ".join(f'"{package}"' for package in measured)
    (root / "pyproject.toml").write_text(f"[tool.coverage.run]\nsource = [{sources}]\n", encoding="utf-8")
    for folder, package in COMPONENTS.items():
        (root / folder / package).mkdir(parents=True)
        (root / folder / package / "__init__.py").write_text("", encoding="utf-8")
        (root / folder / package / "core.py").write_text(HALF_RUN, encoding="utf-8")
        (root / folder / "tests").mkdir()
        (root / folder / "tests" / "test_core.py").write_text("", encoding="utf-8")
    reports = root / ".dev" / "reports"
    reports.mkdir(parents=True)
    driver = root / "drive.py"
    driver.write_text(
        "import importlib, sys\n"
        "for arg in sys.argv[1:]:\n"
        "    package, function = arg.split(':')\n"
        "    getattr(importlib.import_module(package + '.core'), function)(1)\n",
        encoding="utf-8",
    )
    pythonpath = os.pathsep.join(str(root / folder) for folder in COMPONENTS)
    # The reservation service's suite runs shared code too: the other half of servicekit's module.
    for suite, calls in {
        "servicekit": ["servicekit:used"],
        "user-service": ["user_service:used"],
        "room-service": ["room_service:used"],
        "reservation-service": ["reservation_service:used", "servicekit:unused"],
    }.items():
        result = run(
            [sys.executable, "-m", "coverage", "run", f"--rcfile={root / 'pyproject.toml'}",
             f"--data-file={reports / f'.coverage.{suite}'}", str(driver), *calls],
            root,
            PYTHONPATH=pythonpath,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    for suite, folder in {"servicekit": "libs/servicekit", **{f: f for f in list(COMPONENTS)[1:]}}.items():
        classname = folder.replace("/", ".") + ".tests.test_core"
        (reports / f"junit-{suite}.xml").write_text(junit(classname, ["test_a", "test_b"]), encoding="utf-8")
    (reports / "junit-system.xml").write_text(junit("tests.test_flow.TestFlow", ["test_c"]), encoding="utf-8")
    return reports


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The small repository, with run-sonar-scan.sh and the quality scripts copied in."""
    root = tmp_path / "repo"
    root.mkdir()
    make_repo(root)
    shutil.copy2(ROOT / "run-sonar-scan.sh", root / "run-sonar-scan.sh")
    shutil.copytree(
        ROOT / "scripts" / "quality", root / "scripts" / "quality", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root


def report_only(root: Path) -> subprocess.CompletedProcess[str]:
    return run(["bash", str(root / "run-sonar-scan.sh"), "--report-only"], root, PYTHON=sys.executable)


def test_report_only_merges_coverage_with_paths_sonar_resolves(repo: Path) -> None:
    result = report_only(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = ET.parse(repo / "coverage.xml").getroot()  # noqa: S314  (written by the script under test)
    assert [source.text for source in doc.iter("source")] == ["."]
    files = {cls.get("filename"): cls for cls in doc.iter("class")}
    for folder, package in COMPONENTS.items():
        assert f"{folder}/{package}/core.py" in files

    def hits(path: str) -> dict[int, int]:
        return {int(line.get("number", "0")): int(line.get("hits", "0")) for line in files[path].iter("line")}

    assert hits("room-service/room_service/core.py") == {4: 1, 5: 1, 6: 1, 9: 1, 10: 0, 11: 0}
    # Two suites each ran half of servicekit's module: combined, all of it.
    assert set(hits("libs/servicekit/servicekit/core.py").values()) == {1}


def test_report_only_merges_every_suite_and_names_each_test_file(repo: Path) -> None:
    assert report_only(repo).returncode == 0
    doc = ET.parse(repo / "test-results.xml").getroot()  # noqa: S314
    assert doc.tag == "testsuites" and doc.get("tests") == "9"
    assert sorted(s.get("name", "") for s in doc.iter("testsuite")) == [
        "reservation-service",
        "room-service",
        "servicekit",
        "system",
        "user-service",
    ]
    files = {case.get("file") for case in doc.iter("testcase")}
    assert files == {
        "libs/servicekit/tests/test_core.py",
        "user-service/tests/test_core.py",
        "room-service/tests/test_core.py",
        "reservation-service/tests/test_core.py",
        None,  # tests/test_flow.py does not exist here: left without a file, not guessed
    }
    assert (repo / ".dev" / "reports" / ".coverage.servicekit").exists()  # the suites' data is kept


def test_report_only_fails_when_a_service_has_no_test_results(repo: Path) -> None:
    (repo / ".dev" / "reports" / "junit-room-service.xml").unlink()
    result = report_only(repo)
    assert result.returncode == 1
    assert "no test results of room-service" in result.stderr
    assert "troubleshooting" in result.stderr


def test_report_only_fails_when_a_service_is_not_measured(tmp_path: Path) -> None:
    make_repo(tmp_path, measured=("servicekit", "user_service", "room_service"))
    result = run([sys.executable, str(ROOT / "scripts" / "quality" / "reports.py"), "--root", str(tmp_path)], tmp_path)
    assert result.returncode == 1
    assert "no measured code of reservation-service" in result.stderr


def test_report_only_without_reports_says_to_run_make_test(tmp_path: Path) -> None:
    result = run([sys.executable, str(ROOT / "scripts" / "quality" / "reports.py"), "--root", str(tmp_path)], tmp_path)
    assert result.returncode == 1
    assert "run `make test` first" in result.stderr


def gate(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, str(ROOT / "scripts" / "quality" / "gate.py"), *args, "--root", str(root)], root)


def test_coverage_gate_reports_each_component_and_fails_under_the_bar(repo: Path) -> None:
    result = gate(repo, "coverage", "--fail-under", "90")
    assert result.returncode == 1
    # core.py has 6 statements: both `def` lines run on import, then the body of `used` only.
    assert re.search(r"servicekit +100\.00% +6/6 lines +ok", result.stdout)
    assert re.search(r"room-service +66\.67% +4/6 lines +FAIL \(23\.33 points short\)", result.stdout)
    assert gate(repo, "coverage", "--fail-under", "66").returncode == 0


def write_module(root: Path, folder: str, name: str, body: str) -> None:
    package = COMPONENTS[folder]
    path = root / folder / package / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body), encoding="utf-8")


def copied_function(statements: int, *, comment: str = "") -> str:
    lines = "".join(f"    value_{i} = value_{i - 1} * {i}  {comment}\n" for i in range(1, statements - 1))
    header = '"""A module."""\nimport math\n\n\ndef compute(value_0: int) -> int:\n'
    return f"{header}{lines}    return value_{statements - 2}\n"


def test_duplicate_gate_passes_the_repository_as_it_is() -> None:
    result = gate(ROOT, "duplicates")
    assert result.returncode == 0, result.stdout


def test_duplicate_gate_fails_on_a_block_two_services_share(tmp_path: Path) -> None:
    write_module(tmp_path, "user-service", "a.py", copied_function(8))
    # Comments, docstrings and imports differ: still the same code.
    other = copied_function(8, comment="# copied").replace('"""A module."""', '"""Another."""')
    write_module(tmp_path, "room-service", "b.py", other.replace("import math", "import os"))
    result = gate(tmp_path, "duplicates")
    assert result.returncode == 1
    assert "room-service/room_service/b.py:5-12 ~ user-service/user_service/a.py:5-12" in result.stdout


def test_duplicate_gate_ignores_short_blocks_copies_inside_one_service_and_tests(tmp_path: Path) -> None:
    write_module(tmp_path, "user-service", "a.py", copied_function(7))
    write_module(tmp_path, "room-service", "b.py", copied_function(7))
    write_module(tmp_path, "reservation-service", "c.py", copied_function(12))
    write_module(tmp_path, "reservation-service", "d.py", copied_function(12))
    (tmp_path / "libs/servicekit/tests").mkdir(parents=True)
    (tmp_path / "libs/servicekit/tests/test_e.py").write_text(copied_function(12), encoding="utf-8")
    result = gate(tmp_path, "duplicates")
    assert result.returncode == 0, result.stdout
