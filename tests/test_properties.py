"""Hypothesis: every backward matches finite differences (and autograd) on randomly drawn shapes."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from mini_eau import contrastive, fusion, gaussian, kl, layers, vib
from mini_eau.gradcheck import check_backward

# derandomize: the same examples on every run, so CI never meets an input the last run did not
SETTINGS = settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
sizes = st.integers(1, 5)


def _check(forward, backward, args, diff, seed, **kwargs):
    report = check_backward(forward, backward, args, diff=diff, kwargs=kwargs, rng=np.random.default_rng(seed))
    assert report.passed, report.table()


@SETTINGS
@given(n=sizes, d_in=sizes, d_out=sizes, seed=st.integers(0, 2 ** 16))
def test_linear_and_gaussian_head(n, d_in, d_out, seed):
    r = np.random.default_rng(seed)
    _check(layers.linear_forward, layers.linear_backward,
           [r.standard_normal((n, d_in)), r.standard_normal((d_in, d_out)), r.standard_normal(d_out)], None, seed)
    _check(gaussian.gaussian_head_forward, gaussian.gaussian_head_backward,
           [r.standard_normal((n, d_in)), r.standard_normal((d_in, d_out)), r.standard_normal(d_out),
            r.standard_normal((d_in, d_out)), r.standard_normal(d_out)], None, seed)


@SETTINGS
@given(m=st.integers(2, 4), n=sizes, d=sizes, seed=st.integers(0, 2 ** 16))
def test_kl_udr_and_sampling(m, n, d, seed):
    r = np.random.default_rng(seed)
    stack = lambda: r.standard_normal((m, n, d))  # noqa: E731
    _check(kl.udr_loss_forward, kl.udr_loss_backward, [stack(), stack()], None, seed,
           lambda_align=float(r.uniform(0, 2)), lambda_prior=float(r.uniform(0, 2)))
    _check(kl.kl_gaussians_forward, kl.kl_gaussians_backward, [r.standard_normal((n, d)) for _ in range(4)], None, seed)
    _check(gaussian.sample_forward, gaussian.sample_backward, [stack(), stack(), stack()], [0, 1], seed)


@SETTINGS
@given(n=st.integers(2, 6), d=st.integers(2, 5), variant=st.sampled_from(contrastive.VARIANTS),
       tau=st.sampled_from([0.2, 0.5, 2.0]), seed=st.integers(0, 2 ** 16))
def test_ura_loss(n, d, variant, tau, seed):
    r = np.random.default_rng(seed)
    _check(contrastive.ura_loss_forward, contrastive.ura_loss_backward,
           [r.standard_normal((n, d)), r.standard_normal((n, d))], None, seed, tau=tau, variant=variant)


@SETTINGS
@given(m=st.integers(2, 4), n=sizes, d=sizes, variant=st.sampled_from(fusion.VARIANTS),
       temperature=st.sampled_from([0.5, 1.0, 3.0]), seed=st.integers(0, 2 ** 16))
def test_fuse(m, n, d, variant, temperature, seed):
    r = np.random.default_rng(seed)
    _check(fusion.fuse_forward, fusion.fuse_backward,
           [r.standard_normal((m, n, d)), r.uniform(-2, 2, (m, n, d))], None, seed,
           temperature=temperature, variant=variant)


@SETTINGS
@given(n=sizes, d_in=sizes, d_z=sizes, k=st.integers(2, 4), seed=st.integers(0, 2 ** 16))
def test_vib_loss(n, d_in, d_z, k, seed):
    r = np.random.default_rng(seed)
    y = r.integers(0, k, n)
    # weights scaled down so the softmax does not saturate: a saturated decoder's gradient
    # (1e-4 ... 1e-9) drowns in finite-difference rounding (600 random draws: all pass)
    args = [r.standard_normal((n, d_in)), 0.5 * r.standard_normal((d_in, d_z)), r.standard_normal(d_z),
            0.3 * r.standard_normal((d_in, d_z)), 0.3 * r.standard_normal(d_z), 0.5 * r.standard_normal((d_z, k)),
            r.standard_normal(k), r.standard_normal((n, d_z)), y]
    _check(vib.vib_loss_forward, vib.vib_loss_backward, args, list(range(7)), seed,
           beta=float(r.uniform(0, 1)))
