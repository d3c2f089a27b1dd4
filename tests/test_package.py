"""The package surface: every public name resolves to what it names, even after every
submodule has been imported (a submodule named like a public function would shadow it)."""

from __future__ import annotations

import importlib
import pkgutil
import types

import connectivity as cx
from connectivity import cli


def test_every_public_name_is_the_object_of_its_module_after_all_imports():
    for info in pkgutil.walk_packages(cx.__path__, prefix="connectivity."):
        if info.name == "connectivity.__main__":  # runs the command line when imported
            continue
        importlib.import_module(info.name)
    for name in cx.__all__:
        value = getattr(cx, name)
        assert not isinstance(value, types.ModuleType), f"connectivity.{name} is a module"
        module = cx._LAZY.get(name)
        if module is not None:
            assert value is getattr(importlib.import_module(module), name), name


def test_unknown_attribute_raises_attribute_error():
    try:
        cx.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_help_lists_every_registered_command(capsys):
    parser = cli.build_parser()
    text = parser.format_help()
    registered = {
        action.dest
        for group in parser._subparsers._group_actions  # type: ignore[union-attr]
        for action in group._choices_actions
    }
    assert {"demo", "isochrones", "gtfs-audit", "travel-times", "access", "bottlenecks"} <= (
        registered
    )
    for command in registered:
        assert command in text


def test_no_command_prints_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    assert "usage: connectivity" in capsys.readouterr().out
