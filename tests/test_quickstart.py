"""The README's quickstart runs as written (issues 13, 18)."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def quickstart_blocks():
    """The quickstart's code blocks: the one-X form, then the list form that continues it."""
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = readme.split("## Quickstart: your own data", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_quickstart_is_short():
    first, second = quickstart_blocks()
    assert len(first.strip().splitlines()) <= 12 and len(second.strip().splitlines()) <= 3


@pytest.mark.slow  # whole commands or training runs: left out of the quick loop
def test_quickstart_runs_as_written(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg")
    res = subprocess.run([sys.executable, "-c", "\n".join(quickstart_blocks())], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    scores = [float(v) for v in lines[0].split()]
    assert len(scores) == 2 and min(scores) > 0.85  # both learn the digits from two half-images
    # the list of views is the same model as one X with views=[32, 32]: the same score
    assert float(lines[-1]) == scores[0]
    assert list(tmp_path.iterdir()) == []  # writes nothing
