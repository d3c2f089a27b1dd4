"""The API reference of ``connectivity``, grouped by stage, under the public names.

``.. connectivity-api:: STAGE`` documents every name of ``connectivity.__all__`` whose
defining module lies in ``connectivity.STAGE`` (``foundation``: the modules at the
package root), as ``connectivity.NAME``: a summary table, then each object with
autodoc. The stage of a name comes from ``connectivity._LAZY`` (or, for the names
imported eagerly, the object's ``__module__``), so a name that moves stays documented
without editing the docs; the build warns (an error under ``-W``) about any public name
that no page documents.

Docstrings refer to objects by their defining modules
(``:func:`connectivity.accessibility.indicators.core_periphery```) or relative to them
(``:meth:`StreetNetwork.snap```); references that do not resolve as written are tried
again as ``connectivity.NAME...`` from the first public name in them, so they link to
the public pages.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

logger = logging.getLogger(__name__)

FOUNDATION = "foundation"


@functools.cache
def public_names() -> dict[str, str]:
    """Public name -> its stage (``foundation`` or a stage folder), in ``__all__`` order."""
    import connectivity

    stages = {}
    for name in connectivity.__all__:
        if name.startswith("__"):
            continue  # __version__
        module = connectivity._LAZY.get(name) or getattr(connectivity, name).__module__
        parts = module.split(".")
        is_stage = len(parts) > 2 or (len(parts) == 2 and _is_package(module))
        stages[name] = parts[1] if is_stage else FOUNDATION
    return stages


def _is_package(module: str) -> bool:
    return hasattr(importlib.import_module(module), "__path__")


def _directive(obj: Any) -> str:
    if isinstance(obj, type) and issubclass(obj, BaseException):
        return "autoexception"
    return "autoclass" if isinstance(obj, type) else "autofunction"


class ConnectivityApi(SphinxDirective):
    """``.. connectivity-api:: STAGE``: the public names of one stage."""

    required_arguments = 1
    has_content = False
    option_spec = {"no-summary": directives.flag}

    def run(self) -> list[nodes.Node]:
        import connectivity

        stage = self.arguments[0]
        names = [name for name, s in public_names().items() if s == stage]
        if not names:
            raise self.error(f"no public name of connectivity lives in stage {stage!r}")
        objects = {name: getattr(connectivity, name) for name in names}
        # Classes first, then functions, each in the order of __all__ (sorted).
        names.sort(key=lambda n: not isinstance(objects[n], type))
        documented = self.env.domaindata.setdefault("connectivity_api", {})
        lines = [".. currentmodule:: connectivity", ""]
        if "no-summary" not in self.options:
            lines += [".. autosummary::", ""]
            lines += [f"   {name}" for name in names]
            lines += [""]
        for name in names:
            documented[name] = self.env.docname
            lines += [f".. {_directive(objects[name])}:: {name}"]
            if isinstance(objects[name], type):
                lines += ["   :members:"]
                if objects[name].__bases__ != (object,):
                    lines += ["   :show-inheritance:"]
            lines += [""]
        content = StringList(lines, source=f"<connectivity-api {stage}>")
        node = nodes.container()
        nested_parse_with_titles(self.state, content, node)
        return node.children


def _check_all_documented(app: Sphinx, env: Any) -> None:
    documented = env.domaindata.get("connectivity_api", {})
    if not documented:
        return  # a partial build without the API pages
    missing = sorted(set(public_names()) - set(documented))
    if missing:
        logger.warning(
            "public names of connectivity on no API page: %s (give their stage a page "
            "with '.. connectivity-api:: STAGE')",
            ", ".join(missing),
        )


def _purge(app: Sphinx, env: Any, docname: str) -> None:
    documented = env.domaindata.get("connectivity_api", {})
    for name in [n for n, d in documented.items() if d == docname]:
        del documented[name]


def _merge(app: Sphinx, env: Any, docnames: Any, other: Any) -> None:
    env.domaindata.setdefault("connectivity_api", {}).update(
        other.domaindata.get("connectivity_api", {})
    )


def _skip_member(app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any) -> Any:
    """Leave out the fields of NamedTuples (their docstring section lists them)."""
    doc = getattr(obj, "__doc__", None) or ""
    if doc.startswith("Alias for field number"):
        return True
    return None


def _public_reference(app: Sphinx, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve ``connectivity.stage.module.Name.attr`` (or ``Name.attr``) to the public page."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    parts = target.split(".")
    names = public_names()
    domain = env.get_domain("py")
    for i, part in enumerate(parts):
        if part not in names:
            continue
        candidate = ".".join(["connectivity", *parts[i:]])
        if candidate == target:
            continue
        found = domain.resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], candidate, node, contnode
        )
        if found is not None:
            return found
    return None


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("connectivity-api", ConnectivityApi)
    app.connect("env-check-consistency", _check_all_documented)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("missing-reference", _public_reference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
