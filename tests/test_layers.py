"""The layer rule: the import-linter contracts of pyproject.toml, and that they catch a break.

The contracts (``[tool.importlinter]``) say that a stage imports only earlier stages, that
the compiled kernels are imported only by their own stage and private modules only from
within their package, that nothing imports the command line, and that the modules of a
stage import each other without cycles. CONTRIBUTING.md explains them; the last test
adds what import-linter does not see: private names imported from another stage. ``lint-imports`` runs in a subprocess, so the package it
analyses is the one first on its ``PYTHONPATH`` (a planted copy, or this tree), not the
one this test process has imported.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "connectivity"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` with the contracts of ``root/pyproject.toml`` on ``root``."""
    env = dict(os.environ, PYTHONPATH=str(root), COLUMNS="200", NO_COLOR="1")
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            str(root / "pyproject.toml"),
            "--no-cache",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _broken_section(output: str, contract: str) -> str:
    """The part of the report that explains why ``contract`` is broken ('' if it is not)."""
    _, _, details = output.partition("Broken contracts")
    # Each contract's section starts with its name underlined by dashes.
    parts = re.split(r"\n([^\n]+)\n-{3,}\n", details)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    return sections.get(contract, "")


def test_a_planted_import_of_a_later_stage_breaks_the_layers_contract(tmp_path):
    shutil.copytree(
        PACKAGE, tmp_path / "connectivity", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    graph = tmp_path / "connectivity" / "streets" / "graph.py"
    source = graph.read_text()
    graph.write_text(source + "\nfrom connectivity.routing import queries as _planted  # noqa\n")
    line = source.count("\n") + 2

    result = _lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Stages import only earlier stages BROKEN" in result.stdout
    section = _broken_section(result.stdout, "Stages import only earlier stages")
    assert "connectivity.streets is not allowed to import connectivity.routing" in section
    assert f"connectivity.streets.graph -> connectivity.routing.queries (l.{line})" in section


def test_the_package_keeps_its_import_contracts():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def _stage(module: str) -> str:
    """The stage of a module: its folder under ``connectivity``, or the foundation."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else "foundation"


def test_private_names_are_imported_only_within_their_stage():
    """A helper that another stage needs gets a public name (or moves where it belongs)."""
    crossings = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        module = ".".join(relative.parts)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
                continue
            if not node.module.startswith("connectivity."):
                continue
            if _stage(node.module) == _stage(module):
                continue
            crossings += [
                f"{relative}.py:{node.lineno} imports {node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_")
            ]
    assert not crossings, "\n".join(crossings)
