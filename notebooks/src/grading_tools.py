"""The grading tools of every notebook's exercises: scripts/build_notebooks.py inserts this file's
code (from the line after this docstring) into each notebook's cell with grade_id "grading_tools",
so that every notebook, solution and student version, is self-contained."""
# Grading tools: run this cell, nothing to change. Each check compares your work with the
# library's own answer, which this notebook imports only inside the check. While a check runs
# your function, the library functions that would answer the exercise for you raise (under any
# name you gave them): calling them cannot pass it.
import contextlib
import importlib
import sys


def library_answer(path):
    """The library's function at "module:name" (what a check compares with)."""
    module_name, name = path.split(":")
    return getattr(importlib.import_module(module_name), name)


@contextlib.contextmanager
def without_library(namespace, *paths):
    """Within the block, the functions at ``paths`` raise wherever they are bound: in mini_eau's
    modules and in ``namespace`` (the notebook's globals)."""
    refused = {id(library_answer(p)): p.split(":")[1] for p in paths}
    spaces = [vars(m) for n, m in list(sys.modules.items()) if n.split(".")[0] == "mini_eau"] + [namespace]
    saved = []
    for space in spaces:
        for key, value in list(space.items()):
            if id(value) in refused:
                def refuse(*args, _name=refused[id(value)], **kwargs):
                    raise AssertionError(f"not yet: this calls the library's {_name}, the answer itself; "
                                         "write your own")
                saved.append((space, key, value))
                space[key] = refuse
    try:
        yield
    finally:
        for space, key, value in reversed(saved):
            space[key] = value
