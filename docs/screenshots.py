"""Full-page PNG screenshots of the built site, in headless Chromium.

    python -m sphinx -W -b html docs docs/_build/html
    python docs/screenshots.py [docs/_build/html] [docs/_screenshots]

Needs Debian's ``chromium`` and ``chromium-driver`` and ``selenium``; the same
browser set-up as ``tests/test_docs.py``.  Writes landing.png, fusion.png,
kl.png, notebook04.png, equations.png, spec.png (git-ignored) and prints which display equations are
wider than the text column (they scroll sideways: candidates for splitting).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

from test_docs import make_driver, open_page  # noqa: E402

DOCS = os.path.dirname(os.path.abspath(__file__))
PAGES = {
    "landing": "index.html",
    "fusion": "api/fusion.html",
    "kl": "api/kl.html",
    "notebook04": "notebooks/04_uncertainty_weighted_fusion.html",
    "equations": "equations.html",
    "spec": "spec.html",
}


def main(site, out):
    os.makedirs(out, exist_ok=True)
    driver = make_driver(webdriver, Service, width=1280, height=900)
    try:
        for name, page in PAGES.items():
            open_page(driver, os.path.join(site, page))
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1280, min(height + 100, 16000))
            png = os.path.join(out, f"{name}.png")
            driver.save_screenshot(png)
            wide = driver.execute_script("""
                return [...document.querySelectorAll('mjx-container[display="true"]')]
                  .filter(m => m.scrollWidth > m.clientWidth + 1)
                  .map(m => {
                    const dt = m.closest('dd') && m.closest('dd').previousElementSibling;
                    return (dt && dt.id ? dt.id : '?') + ' (' + m.scrollWidth + ' > ' + m.clientWidth + ' px)';
                  });
            """)
            print(f"{png}: {height} px tall; display equations wider than the column: {wide or 'none'}")
            driver.set_window_size(1280, 900)
    finally:
        driver.quit()


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0] if args else os.path.join(DOCS, "_build", "html"),
         args[1] if len(args) > 1 else os.path.join(DOCS, "_screenshots"))
