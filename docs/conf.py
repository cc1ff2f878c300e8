"""Sphinx configuration for the mini_eau course website.

Build (warning-free, offline, no notebook re-execution)::

    python -m sphinx -W -b html docs docs/_build/html

What this file does besides the usual settings, at configuration time:

* writes one API page per module of ``mini_eau`` and ``mini_eau.lab``
  (``docs/api/*.rst``, generated, git-ignored), found by walking the package,
  so a new module gets a page without editing anything here;
* copies the top-level teaching notebooks ``notebooks/*.ipynb`` into
  ``docs/notebooks/`` (git-ignored); myst-nb renders their committed outputs;
* writes ``docs/equations.md`` from README's "Paper equation -> function ->
  test" table, each function name turned into a link into the API reference;
* maps the docstrings' own sections (``Forward``, ``Backward``, ``Shapes``,
  ``Numerics``, ...) to rubrics before numpydoc sees them -- numpydoc drops
  sections it does not know, with only a Python warning, so without this hook
  every derivation would vanish from the site (tests/test_docs.py checks
  that they are there).

MathJax 3 ships with the site (the ``sphinx-mathjax-offline`` package copies
it into ``_static/mathjax``); nothing is loaded from a CDN.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
import re
import shutil
import sys
import warnings

DOCS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DOCS)
sys.path.insert(0, ROOT)

import mini_eau  # noqa: E402

# -- project -------------------------------------------------------------------
project = "mini_eau"
author = "the mini_eau authors"
copyright = "2026, the mini_eau authors"
release = getattr(mini_eau, "__version__", "0.1.0")

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "sphinx-mathjax-offline",  # PyPI sphinx-mathjax-offline: MathJax 3.2 into _static/mathjax
]

# absolute path: tests build a one-page site from another folder with this file
html_static_path = [os.path.join(DOCS, "_static")]
exclude_patterns = ["_build", "_screenshots", "**.ipynb_checkpoints", "notebooks/student", "generated/**", "results/**"]
suppress_warnings = ["mystnb.unknown_mime_type"]

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "mini_eau"
html_css_files = ["custom.css"]
html_js_files = ["fit-equations.js"]
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 5,
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
# pages with nothing to list in a side navigation, and the notebooks (their
# code cells need the width; prev/next links and the top bar still navigate)
html_sidebars = {page: [] for page in ("index", "notebooks/*", "spec", "equations", "demo", "results", "protocols",
                                        "benchmark", "design", "history")}
html_show_sourcelink = False

# -- maths: MathJax 3, shipped with the site -----------------------------------
# SVG output: self-contained (no web fonts to fetch, works from file:// too).
mathjax_path = "mathjax/tex-svg.js"
mathjax3_config = {
    # textmacros: \_ inside \text{...} (e.g. \text{per\_dim}) renders as "_"
    "loader": {"load": ["[tex]/textmacros"]},
    "tex": {"packages": {"[+]": ["textmacros"]}},
    "svg": {"fontCache": "global"},
}

# -- autodoc / numpydoc --------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# -- myst / myst-nb ------------------------------------------------------------
nb_execution_mode = "off"  # the notebooks are committed executed
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_merge_streams = True

# numpydoc's own list; any other underlined header in a docstring is ours
NUMPYDOC_SECTIONS = {
    "Summary", "Extended Summary", "Parameters", "Returns", "Yields", "Receives",
    "Raises", "Warns", "Other Parameters", "Attributes", "Methods", "See Also",
    "Notes", "Warnings", "References", "Examples",
}


# ------------------------------------------------------------------------------
# Docstring sections -> rubrics (runs before numpydoc's hook)
# ------------------------------------------------------------------------------
_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")


def sections_to_rubrics(lines):
    """Move the custom sections of a numpydoc docstring, as rubrics, before its
    first standard section (into the "extended summary" numpydoc passes on
    untouched).  ``lines`` is edited in place; returns the custom names found."""
    heads = [i for i in range(len(lines) - 1)
             if lines[i].strip() and _UNDERLINE.match(lines[i + 1])
             and len(lines[i + 1].strip()) >= len(lines[i].strip()) - 1
             and not lines[i].startswith(" ")]
    if not heads:
        return []
    preamble = lines[:heads[0]]
    custom, standard, found = [], [], []
    for k, i in enumerate(heads):
        end = heads[k + 1] if k + 1 < len(heads) else len(lines)
        name, body = lines[i].strip(), lines[i + 2:end]
        if name in NUMPYDOC_SECTIONS:
            standard += lines[i:end]
        else:
            found.append(name)
            custom += ["", f".. rubric:: {name}", ""] + body
    if found:
        lines[:] = preamble + custom + [""] + standard
    return found


_MATH = re.compile(r"^(\s*)\.\. math::(.*)$")


def center_multiline_math(lines):
    """Sphinx typesets a ``.. math::`` block holding ``\\\\`` as ``split``, which
    right-aligns lines that have no ``&``; wrap such a block in ``gathered``
    so its lines are centred, as the author of the docstring meant."""
    i = 0
    while i < len(lines):
        m = _MATH.match(lines[i])
        if not m:
            i += 1
            continue
        indent = len(m.group(1))
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent):
            j += 1
        while j > i + 1 and not lines[j - 1].strip():
            j -= 1
        body = [m.group(2).strip()] + [l for l in lines[i + 1:j] if not l.lstrip().startswith(":")]
        tex = "\n".join(body)
        if "\\\\" in tex and "&" not in tex and "\\begin" not in tex and "\n\n" not in tex.strip():
            pad = " " * (indent + 4)
            opts = [l for l in lines[i + 1:j] if l.lstrip().startswith(":")]
            inner = [l for l in lines[i + 1:j] if l.strip() and not l.lstrip().startswith(":")]
            if m.group(2).strip():
                inner.insert(0, pad + m.group(2).strip())
            lines[i:j] = ([m.group(1) + ".. math::"] + opts + [""] + [pad + r"\begin{gathered}"]
                          + inner + [pad + r"\end{gathered}"])
            j = i + len(opts) + len(inner) + 4
        i = j


def _process_docstring(app, what, name, obj, options, lines):
    if app.config.mini_eau_section_rubrics:
        sections_to_rubrics(lines)
    center_multiline_math(lines)


# ------------------------------------------------------------------------------
# Generated pages
# ------------------------------------------------------------------------------
def _write_if_changed(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def package_modules():
    """``mini_eau.*`` and ``mini_eau.lab.*`` modules (with the modules of the kit's folders), in the order of the package."""
    out = {}
    for pkg_name in ("mini_eau", "mini_eau.lab"):
        pkg = importlib.import_module(pkg_name)
        mods = []
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name.startswith("_"):
                continue
            if info.ispkg:  # the kit's folders (data/, baselines/): the package's page, then one per module
                if pkg_name == "mini_eau.lab":
                    sub = f"{pkg_name}.{info.name}"
                    mods.append(sub)
                    mods += [f"{sub}.{i.name}" for i in pkgutil.iter_modules(importlib.import_module(sub).__path__)
                             if not i.name.startswith("_")]
                continue
            mods.append(f"{pkg_name}.{info.name}")
        out[pkg_name] = mods
    return out


def write_api_pages():
    groups = package_modules()
    api = os.path.join(DOCS, "api")
    os.makedirs(api, exist_ok=True)
    keep = {"index.rst"} | {m.split(".", 1)[1] + ".rst" for mods in groups.values() for m in mods}
    for f in os.listdir(api):
        if f not in keep:
            os.remove(os.path.join(api, f))
    titles = {"mini_eau": "Core: the maths, one forward/backward pair at a time",
              "mini_eau.lab": "Lab: data, training, metrics, baselines, plots"}
    index = ["API reference", "=============", "",
             "Generated from the docstrings.  Every ``*_forward`` function carries its",
             "derivation: the **Forward** and **Backward** rubrics hold the formulas the",
             "code implements, **Shapes** the array shapes, **Numerics** how overflow and",
             "cancellation are avoided.", ""]
    for pkg_name, mods in groups.items():
        index += [titles[pkg_name], "-" * len(titles[pkg_name]), "",
                  ".. toctree::", "   :hidden:", ""]
        listing = []
        for mod in mods:
            short = mod.split(".", 1)[1]
            m = importlib.import_module(mod)
            # the module docstring's first paragraph
            summary = " ".join(l.strip() for l in (m.__doc__ or "").strip().split("\n\n")[0].splitlines())
            index.append(f"   {short}")
            listing.append(f"* :doc:`{short}` -- {summary}" if summary else f"* :doc:`{short}`")
            title = f"``{short}``"
            # a folder's page is its overview; its names are documented on its modules' pages
            members = [] if hasattr(m, "__path__") else ["   :members:"]
            _write_if_changed(os.path.join(api, f"{short}.rst"), "\n".join([
                title, "=" * len(title), "",
                f".. automodule:: {mod}", *members, ""]))
        index += [""] + listing + [""]
    _write_if_changed(os.path.join(api, "index.rst"), "\n".join(index))


def copy_notebooks():
    src = os.path.join(ROOT, "notebooks")
    dst = os.path.join(DOCS, "notebooks")
    os.makedirs(dst, exist_ok=True)
    wanted = sorted(f for f in os.listdir(src) if f.endswith(".ipynb"))  # top level only
    for f in os.listdir(dst):
        if f.endswith(".ipynb") and f not in wanted:
            os.remove(os.path.join(dst, f))
    for f in wanted:
        s, d = os.path.join(src, f), os.path.join(dst, f)
        if not os.path.exists(d) or open(s, "rb").read() != open(d, "rb").read():
            shutil.copyfile(s, d)
    return wanted


def _resolve(name, context_module=None):
    """``kl.udr_loss_forward`` -> ``('func', 'mini_eau.kl.udr_loss_forward')`` or None."""
    parts = name.split(".")
    candidates = []
    for pkg in ("mini_eau", "mini_eau.lab"):
        candidates.append((f"{pkg}.{parts[0]}", parts[1:]))
    if context_module:
        candidates.insert(0, (context_module, parts))
    for modname, attrs in candidates:
        try:
            obj = importlib.import_module(modname)
        except ImportError:
            if modname != context_module:
                continue
            try:  # the context is a class: mini_eau.model.EAU
                mod, cls = modname.rsplit(".", 1)
                obj = getattr(importlib.import_module(mod), cls)
            except (ImportError, AttributeError, ValueError):
                continue
        if not attrs:
            return None
        try:
            for a in attrs:
                obj = getattr(obj, a)
        except AttributeError:
            continue
        if isinstance(obj, type):
            role = "class"
        elif len(attrs) > 1 or isinstance(getattr(obj, "__self__", None), type) or \
                "." in getattr(obj, "__qualname__", ""):
            role = "meth"
        elif callable(obj):
            role = "func"
        else:
            role = "data"
        return role, modname, ".".join([modname] + attrs)
    return None


def write_equations_page():
    """README's equation -> function -> test table as a page, functions linked."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read().splitlines()
    start = next(i for i, l in enumerate(readme) if l.startswith("## ") and "equation" in l.lower())
    end = next((i for i in range(start + 1, len(readme)) if readme[i].startswith("## ")), len(readme))
    body = readme[start + 1:end]
    out = ["# Paper equation → function → test", "",
           "Each equation of the paper (with its section of the [specification](spec.md)),",
           "the function that computes it -- a link to its derivation in the",
           "[API reference](api/index.rst) -- and the tests that check it.",
           "This page is generated from the table in `README.md`.", ""]
    for line in body:
        if line.startswith("|") and not set(line) <= set("|-: "):
            cells = re.split(r"(?<!\\)\|", line.strip()[1:-1])  # not on escaped \|
            if len(cells) >= 2 and not cells[1].strip() == "function":
                ctx = None
                parts = []
                for piece in re.split(r"(`[^`]+`)", cells[1]):
                    if piece.startswith("`") and piece.endswith("`"):
                        r = _resolve(piece[1:-1], ctx)
                        if r:
                            role, _, target = r
                            ctx = target.rsplit(".", 1)[0]  # `EAU.a` / `b`: b is EAU's too
                            piece = "{py:%s}`%s <%s>`" % (role, piece[1:-1], target)
                    parts.append(piece)
                cells[1] = "".join(parts)
                line = "|" + "|".join(cells) + "|"
        out.append(line)
    _write_if_changed(os.path.join(DOCS, "equations.md"), "\n".join(out) + "\n")


# numpydoc's signature hook parses every raw docstring again and warns about
# the custom sections there too, although _process_docstring has already made
# them rubrics for the rendered text; silence that duplicate.  (Whether the
# derivations really reach the pages is checked by tests/test_docs.py.)
warnings.filterwarnings("ignore", message=r"Unknown section (Forward|Backward|Shapes|Numerics)")

write_api_pages()
NOTEBOOKS = copy_notebooks()
write_equations_page()


def setup(app):
    # -D mini_eau_section_rubrics=0 builds as plain numpydoc would (derivations
    # dropped): the negative check in tests/test_docs.py uses it.
    app.add_config_value("mini_eau_section_rubrics", True, "env")
    app.connect("autodoc-process-docstring", _process_docstring, priority=400)
    app.connect("config-inited", _use_svg_mathjax)
    app.connect("autodoc-skip-member", _skip_metadata_requests)
    return {"parallel_read_safe": True}


def _skip_metadata_requests(app, what, name, obj, skip, options):
    # scikit-learn gives every estimator class set_<method>_request methods
    # (metadata routing, e.g. EAUClassifier.set_score_request); their
    # docstrings point into scikit-learn's own glossary, which this site lacks.
    return True if name.startswith("set_") and name.endswith("_request") else None


def _use_svg_mathjax(app, config):
    # sphinx-mathjax-offline points mathjax_path at its CHTML bundle, whose web
    # fonts a browser may refuse to load from file://; its SVG bundle (same
    # folder) needs no font files.
    config.mathjax_path = mathjax_path
