"""`python -m mini_eau gradcheck` prints a table and the exact summary line."""
import re
import subprocess
import sys


def test_gradcheck_command_summary_line():
    res = subprocess.run([sys.executable, "-m", "mini_eau", "gradcheck"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln.strip()]
    m = re.fullmatch(r"(\d+) components checked, (\d+) passed, 0 failed", lines[-1])
    assert m and m.group(1) == m.group(2)
    assert "max rel. error vs FD" in lines[0]


def test_gradcheck_unknown_component():
    res = subprocess.run([sys.executable, "-m", "mini_eau", "gradcheck", "--only", "nope"], capture_output=True, text=True)
    assert res.returncode != 0 and "unknown component" in res.stderr
