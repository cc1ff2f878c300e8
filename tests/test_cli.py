"""`python -m mini_eau gradcheck` prints a table and the exact summary line."""
import re
import subprocess
import sys

import pytest


@pytest.mark.slow  # whole commands or training runs: left out of the quick loop
def test_gradcheck_command_summary_line():
    res = subprocess.run([sys.executable, "-m", "mini_eau", "gradcheck"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln.strip()]
    m = re.fullmatch(r"(\d+) components checked, (\d+) passed, 0 failed", lines[-1])
    assert m and m.group(1) == m.group(2)
    assert "max-normalised error vs FD" in lines[0]


def test_gradcheck_unknown_component():
    res = subprocess.run([sys.executable, "-m", "mini_eau", "gradcheck", "--only", "nope"], capture_output=True, text=True)
    assert res.returncode != 0 and "unknown component" in res.stderr


def _run(*args, script=None):
    cmd = [sys.executable, script] if script else [sys.executable, "-m", "mini_eau"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120)


def test_gradcheck_only_takes_a_prefix():
    res = _run("gradcheck", "--only", "fuse")
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"^5 components checked, 5 passed, 0 failed$", res.stdout, re.M)  # the five fuse variants
    assert "fuse[paper]" in res.stdout and "fuse[mean]" in res.stdout and "kl_gaussians" not in res.stdout


def test_gradcheck_unknown_prefix_is_one_clear_line():
    res = _run("gradcheck", "--only", "fuse", "nope")
    assert res.returncode != 0 and res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1 and "unknown component(s) ['nope']" in res.stderr


def test_help_is_plain_text_with_defaults():
    from mini_eau.lab.cli import build_parser

    parser = build_parser()
    subs = next(a for a in parser._actions if a.dest == "command").choices
    for name, p in [("top", parser)] + sorted(subs.items()):
        text = p.format_help()
        assert "``" not in text and ":mod:" not in text and ":func:" not in text, name
        for action in p._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name}: {action.option_strings} has no help text"
                if not isinstance(action.default, bool) and action.default is not None:
                    assert "default" in p._get_formatter()._get_help_string(action), (name, action.option_strings)
    assert "(default: 0)" in subs["gradcheck"].format_help()


def test_summarise_without_folders_prints_usage():
    import os

    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "summarise.py")
    res = _run(script=script)
    assert res.returncode == 2 and res.stderr.startswith("usage:") and "Traceback" not in res.stderr


def test_unknown_flag_is_reported_by_its_subcommand():
    res = _run("gradcheck", "--bogus", "1")
    assert res.returncode == 2
    assert res.stderr.strip() == ("python -m mini_eau gradcheck: error: unrecognized arguments: --bogus 1 "
                                  "(see python -m mini_eau gradcheck --help)")
