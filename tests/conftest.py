"""Shared fixtures: paths of the real data (skipped where absent), small synthetic inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Real data for integration tests; ``CONNECTIVITY_DATA`` overrides the default place.
DATA = Path(os.environ.get("CONNECTIVITY_DATA", ROOT.parent / "shared" / "data"))


def shared_data(relative: str) -> Path:
    """Return ``../shared/data/<relative>``, skipping the test where it is absent."""
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"real data {path} is absent (set CONNECTIVITY_DATA to its folder)")
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own cache folder, so no test reads another's cache."""
    from connectivity import settings

    monkeypatch.setattr(settings, "cache_folder", tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory: pytest.TempPathFactory):
    """A cache folder shared by the tests of one module."""
    return tmp_path_factory.mktemp("module-cache")


@pytest.fixture
def cache(module_cache, monkeypatch: pytest.MonkeyPatch):
    """Use the module's shared cache, so a network (Helsinki) is built once per module,
    not once per test."""
    from connectivity import settings

    monkeypatch.setattr(settings, "cache_folder", module_cache)
    return module_cache
