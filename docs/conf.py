"""Sphinx configuration for the iqx documentation (build: ``sphinx-build -W -b html docs docs/_build``)."""

from __future__ import annotations

import iqx

project = "iqx"
author = "iqx developers"
release = iqx.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True
suppress_warnings = ["myst.header", "ref.python"]
nitpicky = False

html_theme = "alabaster"
html_title = f"iqx {release}"
