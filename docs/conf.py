"""Sphinx configuration of the connectivity documentation (``make docs``).

Built offline with warnings as errors: ``sphinx-build -W --keep-going -b html docs
docs/_build/html``. No intersphinx (it would fetch inventories from the web).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE / "_ext")]

import connectivity  # noqa: E402

project = "connectivity"
author = "the connectivity authors"
copyright = "the connectivity authors"
release = version = connectivity.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinxarg.ext",
    "myst_parser",
    "connectivity_api",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
# Quotes and ellipses, but no dashes: "--gtfs" in the CLI help stays two hyphens.
smartquotes_action = "qe"

# -- autodoc and numpydoc: the public names, their numpydoc docstrings ---------------

autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- HTML ------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"connectivity {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path = ["_static"]
html_css_files = ["connectivity.css"]
html_show_sourcelink = False
