"""The backend picks the right array module and never imports CuPy unasked."""
import sys

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from mini_eau import backend as B


def test_numpy_arrays_and_scalars_give_numpy():
    assert B.get_array_module(np.ones(2), 3.0, None) is np
    assert B.get_array_module() is np


def test_autograd_tracing_gives_autograd_numpy():
    seen = []

    def f(x):
        seen.append(B.get_array_module(np.ones(1), x))
        return anp.sum(x * x)

    autograd.grad(f)(np.ones(3))
    assert seen == [anp]


def test_registered_array_type():
    class Fake:
        pass

    B.register_array_module(Fake, anp)
    try:
        assert B.get_array_module(np.ones(1), Fake()) is anp
    finally:
        B._registered.pop(Fake)


def test_default_backend_and_env(monkeypatch):
    monkeypatch.delenv(B.ENV_VAR, raising=False)
    B.set_default_backend(None)
    assert B.get_default_backend() == "numpy" and B.default_xp() is np
    monkeypatch.setenv(B.ENV_VAR, "tpu")
    with pytest.raises(ValueError, match="MINI_EAU_BACKEND"):
        B.get_default_backend()
    with pytest.raises(ValueError, match="backend: expected one of"):
        B.set_default_backend("torch")


def test_importing_mini_eau_does_not_import_cupy():
    import subprocess

    code = "import mini_eau, sys; sys.exit(1 if 'cupy' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_to_numpy():
    x = np.arange(3.0)
    assert B.to_numpy(x) is x
    np.testing.assert_array_equal(B.to_numpy([1, 2]), [1, 2])
