"""The course website, built and checked in a real browser (headless Chromium).

The site is built once per session exactly as documented
(``python -m sphinx -W -b html docs <out>``: warning-free, no notebook
re-execution), then opened from ``file://`` in Debian's Chromium driven by
Selenium through ``/usr/bin/chromedriver``.  The tests fail unless

* MathJax (shipped with the site, no CDN) has typeset the equations on the
  fusion and KL API pages: every ``.math`` element holds an ``mjx-container``,
  no MathJax error box, no raw TeX such as ``\\frac`` left in the visible text;
* the derivations are there: the ``Forward`` and ``Backward`` rubrics, each
  followed by rendered maths (numpydoc drops unknown docstring sections
  silently; ``docs/conf.py`` turns them into rubrics);
* every notebook page shows figures, all loaded with a non-zero size;
* no internal link of the built site is broken (a crawl of every built page's
  ``href``/``src``, anchors included).

Two negative checks build a one-page site: with MathJax removed from the build
output, and with the section hook switched off (``-D
mini_eau_section_rubrics=0``, i.e. plain numpydoc); the checks must then fail.

Without Sphinx, Chromium or ChromeDriver these tests skip, unless
``MINI_EAU_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where they fail.
"""
from __future__ import annotations

import glob
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

import pytest

pytestmark = pytest.mark.docs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
CHROMIUM = os.environ.get("MINI_EAU_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MINI_EAU_CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRE = os.environ.get("MINI_EAU_REQUIRE_BROWSER") == "1"
MATH_PAGES = ("api/fusion.html", "api/kl.html")


def _missing(what):
    if REQUIRE:
        pytest.fail(f"MINI_EAU_REQUIRE_BROWSER=1 but {what}")
    pytest.skip(what)


def _need_sphinx():
    for mod in ("sphinx", "numpydoc", "myst_nb", "pydata_sphinx_theme"):
        try:
            __import__(mod)
        except ImportError:
            _missing(f"{mod} is not installed (docs dependencies)")


def build(src, out, *extra):
    """``python -m sphinx -W -b html src out``; returns the seconds it took."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", *extra, src, out],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, f"sphinx build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return time.perf_counter() - t0


# ----------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _need_sphinx()
    out = str(tmp_path_factory.mktemp("docs") / "html")
    seconds = build(DOCS, out)
    print(f"\ndocs built in {seconds:.1f} s -> {out}")
    return out


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            _missing(f"{path} not found (apt-get install chromium chromium-driver)")
    driver = make_driver(webdriver, Service)
    yield driver
    driver.quit()


def make_driver(webdriver, Service, width=1280, height=1000):
    profile = tempfile.mkdtemp(prefix="mini-eau-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},{height}",
                 "--allow-file-access-from-files"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


# ------------------------------------------------------------- page checks
def open_page(driver, path):
    """Load ``path`` (a file of the built site) and wait for MathJax, if any, to finish."""
    driver.get("file://" + os.path.abspath(path))
    # MathJax's script is deferred: on a busy machine it may start after the page has loaded,
    # so wait up to 15 s for it to appear before calling it missing
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const t0 = Date.now();
        (function wait() {
          const mj = window.MathJax;
          if (mj && mj.startup && mj.startup.promise) {
            mj.startup.promise.then(() => done('ok'), (e) => done('MathJax failed: ' + e));
          } else if (Date.now() - t0 > 15000) {
            done('no MathJax');
          } else {
            setTimeout(wait, 100);
          }
        })();
    """)


def math_problems(driver, path):
    """Why the maths on ``path`` is not rendered; empty when it is."""
    status = open_page(driver, path)
    info = driver.execute_script("""
        const maths = [...document.querySelectorAll('div.math, span.math')];
        return {
          maths: maths.length,
          unrendered: maths.filter(m => !m.querySelector('mjx-container')).length,
          containers: document.querySelectorAll('mjx-container').length,
          errors: [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error') || e.textContent),
          // the visible prose: text outside code, scripts and typeset maths
          text: (() => {
            const skip = 'pre, code, script, style, textarea, mjx-container, .highlight';
            const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            let out = [], n;
            while ((n = w.nextNode())) {
              const p = n.parentElement;
              if (p && !p.closest(skip) && p.getClientRects().length) out.push(n.nodeValue);
            }
            return out.join(' ');
          })(),
          literal: [...document.querySelectorAll('mjx-assistive-mml')].map(e => e.textContent)
                     .filter(t => t.includes('\\\\')),
        };
    """)
    if info["maths"] == 0:  # (Sphinx loads MathJax only on pages with maths)
        return ["no maths on the page"]
    problems = []
    if status != "ok":
        problems.append(f"MathJax did not run: {status}")
    if info["unrendered"] or info["containers"] == 0:
        problems.append(f"{info['unrendered']} of {info['maths']} equations not typeset")
    if info["errors"]:
        problems.append(f"MathJax errors: {info['errors'][:3]}")
    for raw in ("\\frac", "\\mathrm", "\\sum", "\\partial", "\\mathcal"):
        if raw in info["text"]:
            at = info["text"].index(raw)
            problems.append(f"raw TeX {raw!r} in the visible text: ...{info['text'][max(0, at - 40):at + 40]}...")
    if info["literal"]:
        problems.append(f"TeX rendered literally (a backslash in the output): {info['literal'][:3]}")
    return problems


def derivation_problems(driver, path, required=("Forward", "Backward")):
    """Why the derivation sections are missing on ``path``; empty when they are there."""
    open_page(driver, path)
    found = driver.execute_script("""
        const out = {};
        for (const r of document.querySelectorAll('dl.py dd p.rubric')) {
          let n = r.nextElementSibling, math = 0;
          while (n && !(n.matches('p.rubric') || n.matches('dl'))) {
            math += n.querySelectorAll('mjx-container').length;
            n = n.nextElementSibling;
          }
          const name = r.textContent.trim();
          out[name] = (out[name] || 0) + math;
        }
        return out;
    """)
    problems = []
    for name in required:
        if name not in found:
            problems.append(f"no {name!r} section")
        elif not found[name]:
            problems.append(f"{name!r} section has no rendered maths")
    return problems


def figure_problems(driver, path):
    """Why the figures on ``path`` do not show; empty when they do."""
    open_page(driver, path)
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        Promise.all([...document.images].map(i => i.decode().catch(() => null))).then(() => done());
    """)
    imgs = driver.execute_script("""
        return [...document.querySelectorAll('article img, main img')].map(i => ({
          src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0 && i.naturalHeight > 0,
          shown: i.getBoundingClientRect().width > 0}));
    """)
    problems = []
    if not imgs:
        problems.append("no figures")
    problems += [f"figure not loaded: {i['src']}" for i in imgs if not i["ok"]]
    problems += [f"figure has zero size on the page: {i['src']}" for i in imgs if i["ok"] and not i["shown"]]
    return problems


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key) and (key == "id" or tag == "a"):
                self.ids.add(a[key])
        for key in ("href", "src"):
            if a.get(key) and tag in ("a", "link", "img", "script", "iframe", "source"):
                self.links.append(a[key])


def broken_links(root):
    """Internal links of the built site (files and #anchors) that point nowhere."""
    pages = {}
    for path in glob.glob(os.path.join(root, "**", "*.html"), recursive=True):
        if os.path.relpath(path, root).startswith("_static"):
            continue  # theme templates, not pages
        p = _Links()
        with open(path, encoding="utf-8") as f:
            p.feed(f.read())
        pages[os.path.normpath(path)] = p
    broken = []
    for path, p in pages.items():
        for link in p.links:
            parts = urllib.parse.urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = path if not parts.path else os.path.normpath(
                os.path.join(os.path.dirname(path), urllib.parse.unquote(parts.path)))
            rel = os.path.relpath(path, root)
            if not os.path.exists(target):
                broken.append(f"{rel}: {link}")
            elif parts.fragment and target in pages and urllib.parse.unquote(parts.fragment) not in pages[target].ids:
                broken.append(f"{rel}: {link} (no such anchor)")
    return broken


# ------------------------------------------------------------------- tests
def test_site_has_every_page(site):
    for page in ("index.html", "spec.html", "equations.html", "api/index.html", *MATH_PAGES):
        assert os.path.exists(os.path.join(site, page)), page
    notebooks = sorted(os.path.basename(p)[:-6] for p in glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
    pages = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(site, "notebooks", "*.html")))
    assert pages == notebooks
    # MathJax ships with the site; nothing comes from a CDN
    assert os.path.exists(os.path.join(site, "_static", "mathjax", "tex-svg.js"))
    with open(os.path.join(site, "api", "kl.html"), encoding="utf-8") as f:
        page = f.read()
    assert "_static/mathjax/tex-svg.js" in page and "cdn.jsdelivr" not in page


def test_equation_table_links_into_the_api(site):
    with open(os.path.join(site, "equations.html"), encoding="utf-8") as f:
        page = f.read()
    for target in ("api/kl.html#mini_eau.kl.udr_loss_forward", "api/fusion.html#mini_eau.fusion.fuse_forward"):
        assert f'href="{target}"' in page, target
    # every name in the "function" column is a link into the API reference
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, flags=re.S)
    assert len(rows) >= 8
    for row in rows[1:]:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        names = re.findall(r"<code", cells[1])
        links = re.findall(r'<a class="reference internal" href="api/[^"]+#mini_eau\.', cells[1])
        assert names and len(links) == len(names), cells[1]


@pytest.mark.parametrize("page", MATH_PAGES)
def test_api_page_maths_rendered_by_mathjax(site, browser, page):
    assert math_problems(browser, os.path.join(site, page)) == []


@pytest.mark.parametrize("page", MATH_PAGES)
def test_api_page_shows_the_derivation(site, browser, page):
    assert derivation_problems(browser, os.path.join(site, page)) == []


def test_notebook_pages_show_their_figures_and_maths(site, browser):
    pages = sorted(glob.glob(os.path.join(site, "notebooks", "*.html")))
    assert pages
    problems = {}
    for path in pages:
        p = figure_problems(browser, path) + [m for m in math_problems(browser, path) if m != "no maths on the page"]
        if p:
            problems[os.path.basename(path)] = p
    assert problems == {}


def test_landing_page_renders(site, browser):
    assert figure_problems(browser, os.path.join(site, "index.html")) == []
    assert math_problems(browser, os.path.join(site, "index.html")) == []


def test_no_broken_internal_links(site):
    assert broken_links(site) == []


# --------------------------------------------------------- negative checks
TINY_CONF = """\
import os
__file__ = {conf!r}
with open(__file__, encoding="utf-8") as _f:
    exec(compile(_f.read(), __file__, "exec"), globals())
"""
TINY_INDEX = """\
KL
==

.. autofunction:: mini_eau.kl.kl_gaussians_forward
"""


@pytest.fixture(scope="module")
def tiny_src(tmp_path_factory):
    """A one-page site with the real ``docs/conf.py``: fast to build twice."""
    _need_sphinx()
    src = tmp_path_factory.mktemp("tiny")
    (src / "conf.py").write_text(TINY_CONF.format(conf=os.path.join(DOCS, "conf.py")))
    (src / "index.rst").write_text(TINY_INDEX)
    return str(src)


def test_check_fails_when_mathjax_is_removed(tiny_src, browser, tmp_path):
    out = str(tmp_path / "html")
    build(tiny_src, out)
    page = os.path.join(out, "index.html")
    assert math_problems(browser, page) == []  # the page is fine as built ...
    shutil.rmtree(os.path.join(out, "_static", "mathjax"))
    problems = math_problems(browser, page)  # ... and the check sees MathJax gone
    print("\nwithout MathJax:", problems)
    assert any("MathJax did not run" in p for p in problems)
    assert any("raw TeX" in p for p in problems)


def test_check_fails_when_derivation_sections_are_dropped(tiny_src, browser, tmp_path):
    out = str(tmp_path / "html")
    build(tiny_src, out, "-D", "mini_eau_section_rubrics=0")  # plain numpydoc: still warning-free
    page = os.path.join(out, "index.html")
    problems = derivation_problems(browser, page)
    print("\nwithout the section hook:", problems)
    assert problems == ["no 'Forward' section", "no 'Backward' section"]
