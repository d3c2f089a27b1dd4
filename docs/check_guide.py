"""Run the Python code of the documentation pages, so the guide shows code that works.

Each page's ``.. code-block:: python`` blocks run in order in one fresh namespace, in a
temporary working folder with its own cache (blocks marked ``:class: not-run`` are
skipped: they need the network or a local Leaflet). Run: ``make docs-check`` or
``python docs/check_guide.py [PAGE.rst ...]``; exits 1 naming the first failing block.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import textwrap
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGES = [HERE / "index.rst", HERE / "getting-started.rst", *sorted((HERE / "guide").glob("*.rst"))]


def code_blocks(path: Path) -> list[tuple[int, str]]:
    """The runnable Python blocks of an reST page: (line number, code)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != ".. code-block:: python":
            i += 1
            continue
        start, i = i + 1, i + 1
        options = []
        while i < len(lines) and lines[i].strip().startswith(":"):
            options.append(lines[i].strip())
            i += 1
        body = []
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith("   ")):
            body.append(lines[i])
            i += 1
        if ":class: not-run" not in options:
            blocks.append((start, textwrap.dedent("\n".join(body))))
    return blocks


def _shown(page: Path) -> str:
    return str(page.relative_to(HERE.parent) if page.is_relative_to(HERE.parent) else page)


def main(argv: list[str]) -> int:
    pages = [Path(p).resolve() for p in argv] or PAGES
    with tempfile.TemporaryDirectory(prefix="connectivity-docs-") as tmp:
        os.environ["CONNECTIVITY_CACHE"] = str(Path(tmp) / "cache")
        os.environ["CONNECTIVITY_GTFS"] = str(Path(tmp) / "gtfs")
        sys.path.insert(0, str(HERE.parent))
        from connectivity import settings

        settings.cache_folder = Path(os.environ["CONNECTIVITY_CACHE"])
        settings.gtfs_folder = Path(os.environ["CONNECTIVITY_GTFS"])
        for page in pages:
            blocks = code_blocks(page)
            if not blocks:
                continue
            work = Path(tmp) / page.stem
            work.mkdir()
            os.chdir(work)
            namespace: dict = {"__name__": "__main__"}
            started = time.perf_counter()
            for line, code in blocks:
                output = io.StringIO()
                try:
                    with contextlib.redirect_stdout(output):
                        exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
                except Exception:
                    print(output.getvalue(), end="")
                    traceback.print_exc()
                    print(f"FAILED: {_shown(page)}, block at line {line}")
                    return 1
            seconds = time.perf_counter() - started
            print(f"ok {_shown(page)}: {len(blocks)} blocks, {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
