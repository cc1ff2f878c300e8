"""The checker itself is tested: it must catch small mistakes and refuse bad input."""
import numpy as np
import pytest

from mini_eau.gradcheck import check_backward, numerical_gradient, rel_error


def f_forward(x, w):
    """out = sin(x) * w + x**2  (two terms, two inputs)"""
    import mini_eau.backend as B

    xp = B.get_array_module(x, w)
    return xp.sin(x) * w + x * x, (x, w)


def f_backward(dout, cache):
    x, w = cache
    return dout * (np.cos(x) * w + 2 * x), dout * np.sin(x)


def _args(rng):
    return [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))]


def test_correct_backward_passes():
    rng = np.random.default_rng(0)
    report = check_backward(f_forward, f_backward, _args(rng), rng=rng)
    assert report.passed, report.table()
    assert max(r.fd_rel_error for r in report.rows) < 1e-8
    assert [r.input for r in report.rows] == ["x", "w"]


def test_backward_scaled_by_1_001_fails_both_witnesses():
    rng = np.random.default_rng(0)

    def scaled(dout, cache):
        dx, dw = f_backward(dout, cache)
        return dx * 1.001, dw

    report = check_backward(f_forward, scaled, _args(rng), rng=rng)
    assert not report.passed
    row = report.rows[0]
    assert not row.passed
    assert 5e-4 < row.fd_rel_error < 2e-3
    assert 5e-4 < row.autograd_rel_error < 2e-3
    assert report.rows[1].passed  # the untouched input still passes


def test_backward_dropping_a_term_fails():
    rng = np.random.default_rng(1)

    def dropped(dout, cache):
        x, w = cache
        return dout * (np.cos(x) * w), dout * np.sin(x)  # forgot d(x^2)/dx = 2x

    report = check_backward(f_forward, dropped, _args(rng), rng=rng)
    assert not report.rows[0].passed
    assert report.rows[0].fd_rel_error > 1e-2


def test_fd_only_and_autograd_only_modes():
    rng = np.random.default_rng(2)

    def scaled(dout, cache):
        dx, dw = f_backward(dout, cache)
        return dx, dw * 1.001

    fd = check_backward(f_forward, scaled, _args(rng), rng=rng, use_autograd=False)
    ad = check_backward(f_forward, scaled, _args(rng), rng=rng, use_fd=False)
    assert not fd.passed and not ad.passed
    assert np.isnan(fd.rows[0].autograd_rel_error) and np.isnan(ad.rows[0].fd_rel_error)


def test_float32_refused_with_argument_name():
    x = np.ones((2, 2), dtype=np.float32)
    with pytest.raises(ValueError, match=r"x: .*float64.*float32"):
        check_backward(f_forward, f_backward, [x, np.ones((2, 2))])
    with pytest.raises(ValueError, match="float64"):
        numerical_gradient(lambda v: v.sum(), x)


def test_wrong_number_of_gradients_is_reported():
    with pytest.raises(ValueError, match="returned 1 gradients, expected 2"):
        check_backward(f_forward, lambda d, c: d, [np.ones((2, 2)), np.ones((2, 2))])


def test_numerical_gradient_of_known_function():
    x = np.array([0.3, -1.2, 2.0])
    g = numerical_gradient(lambda v: np.sum(v ** 3), x.copy())
    assert rel_error(g, 3 * x ** 2) < 1e-9


def test_rel_error_definition():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.002])) == pytest.approx(0.002 / 2.002)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(2), np.zeros(3))


def test_report_table_names_component_input_and_status():
    rng = np.random.default_rng(0)
    report = check_backward(f_forward, f_backward, _args(rng), rng=rng, name="toy")
    text = report.table()
    assert "toy" in text and "x" in text and "ok" in text
    assert "toy" in report.table(by="component")


def test_a_nan_gradient_fails_and_shows():
    rng = np.random.default_rng(3)

    def nan_backward(dout, cache):
        dx, dw = f_backward(dout, cache)
        dx = dx.copy()
        dx[0, 0] = np.nan
        return dx, dw

    report = check_backward(f_forward, nan_backward, _args(rng), rng=rng, name="toy")
    assert not report.passed and not report.rows[0].passed and report.rows[1].passed
    assert "NaN" in report.table() and "NaN" in report.table(by="component")
    fd_only = check_backward(f_forward, nan_backward, _args(rng), rng=rng, use_autograd=False)
    assert not fd_only.passed


# Every component with a hand-written backward, core and kit.  A new component
# must be added here on purpose; a renamed or lost one fails here.
REGISTERED = [
    "baseline[concat]", "baseline[late]", "baseline[qmf]", "baseline[tmc]", "baseline[unimodal_1]",
    "batch_norm", "bound", "cosine_similarity", "dropout", "ds_combine", "eau_model", "edl_loss",
    "fuse[mean]", "fuse[official]", "fuse[paper]", "fuse[per_dim]", "fuse[precision]",
    "gaussian_head", "gaussian_nll", "heteroscedastic_regressor", "kl_gaussians", "kl_standard_normal",
    "linear", "mse", "qmf_loss", "relu", "sample", "softmax_cross_entropy", "softplus", "tanh", "tmc_loss",
    "udr_loss", "ura_loss[infonce]", "ura_loss[official]", "ura_loss[paper]", "ura_loss_total", "vib_loss",
]


def test_registered_components_are_pinned_and_found_without_prior_imports():
    import subprocess
    import sys

    # a fresh interpreter that imports nothing but the checker: the list must not
    # depend on which modules the caller happened to import first
    res = subprocess.run([sys.executable, "-c", "from mini_eau.gradcheck import registered; "
                          "print('\\n'.join(sorted(registered())))"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == REGISTERED


def test_the_command_line_gradcheck_needs_only_the_cores_dependencies():
    """Without scikit-learn or matplotlib (the kit's), ``import mini_eau`` and the gradcheck command still work."""
    import subprocess
    import sys

    code = ("import sys; sys.modules.update(dict.fromkeys(['sklearn', 'matplotlib'])); "  # None: an import raises
            "import mini_eau, mini_eau.lab; from mini_eau.lab.cli import main; "
            "sys.exit(main(['gradcheck', '--only', 'linear', 'baseline[concat]']))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "2 components checked, 2 passed" in res.stdout
