# %% [markdown]
# # 01 — Aleatoric vs epistemic uncertainty: noise in the data vs ignorance of the model
#
# EAU is built on one distinction (SPEC §9, the paper's "preliminaries"). A model that maps
# $x \to y$ can be unsure for two different reasons:
#
# * **aleatoric** uncertainty — the data themselves are noisy: the same $x$ comes with
#   different $y$'s. More data cannot remove it; a model can only *measure* it. This is what
#   EAU's Gaussian heads learn as a variance per sample and modality (SUFA, SPEC §2), and what
#   the fusion then uses to down-weight a noisy modality (RMFI, SPEC §6).
# * **epistemic** uncertainty — the model does not know: different plausible parameter settings
#   disagree, typically where there was little or no training data. More data removes it.
#
# A standard way to estimate both at once is MC dropout (Gal & Ghahramani, 2016; Kendall & Gal,
# 2017) — not EAU's way, which learns only the aleatoric part (see the end of section 5): run the
# network $T$ times with fresh dropout masks, pass $t$ predicting $\mathcal N(\mu_t(x), \sigma_t^2(x))$,
# and split the variance of the resulting mixture as
#
# $$\sigma_*^2(x) = \underbrace{\mathbb E_t[\sigma_t^2(x)]}_{\text{aleatoric}} + \underbrace{\operatorname{Var}_t[\mu_t(x)]}_{\text{epistemic}} .$$
#
# The one idea of this notebook: **the two terms measure different things, and we can see them
# separate on a problem whose noise we control.**
#
# 1. a 1-D regression whose noise grows with $|x|$, with a **gap** in the training inputs;
# 2. why a variance head trained with the Gaussian NLL learns the noise — **exercise 01.1**
#    (remove a term and explain) and **exercise 01.2** (the NLL's backward);
# 3. the decomposition of a mixture's variance — **exercise 01.3** (derive and implement it),
#    and the typo in the reading note;
# 4. the network trained; MC dropout with fresh masks per pass;
# 5. the plots: aleatoric follows the injected noise, epistemic grows in the gap;
# 6. the classification analogue (entropy and mutual information).
#
# The three exercises come first and need no training: each is a cell to fill in (in the student
# notebook it raises `NotImplementedError` until you do), followed by a cell that checks it.

# %%
import contextlib
import os

import matplotlib.pyplot as plt
import numpy as np

from mini_eau.lab.data import make_regression_1d, regression_mean, regression_noise_std
from mini_eau.gaussian import S_MAX, S_MIN, bound_forward
from mini_eau.gradcheck import check_backward, rel_error
from mini_eau.layers import gaussian_nll_forward
from mini_eau.regression import fit_regressor, predict_regressor
from mini_eau.uncertainty import decompose_entropy

try:  # ships with scikit-learn
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None


def one_blas_thread():
    # The training loop multiplies 256 x 64 by 64 x 64 matrices: too small to gain from two
    # BLAS threads, and on busy cores splitting them makes training several times slower.
    return threadpool_limits(1) if threadpool_limits is not None else contextlib.nullcontext()


# %config InlineBackend.figure_format = "png"
plt.rcParams.update({"figure.dpi": 80, "font.size": 10})

FAST = os.environ.get("MINI_EAU_FAST") == "1"
rng = np.random.default_rng(0)               # the one generator behind every draw below
N_TRAIN, KEEP, T_PASSES = 2000, 0.9, 100
EPOCHS = 375 if FAST else 1200                # 375 epochs of batch 256 = 3000 Adam steps (fit_regressor's default)
RATIO_MIN = 2.5                               # required epistemic gap/training ratio, both modes (see the last section)
CORR_MIN, MEDIAN_ERR_MAX = 0.8, 0.25          # aleatoric std vs injected std on the training region, both modes
print(f"FAST={FAST}: {N_TRAIN} training points, {EPOCHS} epochs, keep_prob {KEEP}, {T_PASSES} MC passes")

# %% nbgrader={"grade": false, "grade_id": "grading_tools", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Grading tools: scripts/build_notebooks.py writes notebooks/src/grading_tools.py into this cell.


# %% [markdown]
# ## 1. A problem whose noise we control
#
# $$x \sim \mathcal U([-3, -1] \cup [1, 3]),\qquad y = \sin x + \sigma(x)\,\xi,\quad \xi \sim \mathcal N(0, 1),
#   \qquad \sigma(x) = 0.1 + 0.2\,|x| .$$
#
# The noise standard deviation $\sigma(x)$ is *injected* by us, so we know the right aleatoric
# answer everywhere: 0.3 at $|x| = 1$, 0.7 at $|x| = 3$. The interval $(-1, 1)$ holds **no**
# training input: there the model can only guess, which is where epistemic uncertainty should
# appear. The data come from the library's `data.make_regression_1d` (SPEC §11), whose
# mean and noise are `data.regression_mean` and `data.regression_noise_std`.

# %%
true_mean, true_std = regression_mean, regression_noise_std   # sin x and 0.1 + 0.2|x|

x_train, y_train, _ = make_regression_1d(N_TRAIN, rng, gap=(-1.0, 1.0), x_range=(-3.0, 3.0))
x_train = x_train[:, 0]

x_grid = np.linspace(-4.0, 4.0, 321)                         # evaluation inputs, beyond the data too
x_in = np.concatenate([np.linspace(-2.8, -1.2, 20), np.linspace(1.2, 2.8, 20)])   # inside the training region
x_gap = np.linspace(-0.5, 0.5, 21)                           # the middle of the gap


def shade_gap(ax):
    ax.axvspan(-1, 1, color="orange", alpha=0.12, lw=0)


fig, ax = plt.subplots(figsize=(7, 3.6))
shade_gap(ax)
ax.scatter(x_train, y_train, s=3, alpha=0.3, color="grey", label="training data")
ax.plot(x_grid, true_mean(x_grid), "k", lw=1.5, label=r"$\sin x$")
ax.fill_between(x_grid, true_mean(x_grid) - 2 * true_std(x_grid), true_mean(x_grid) + 2 * true_std(x_grid),
                color="C0", alpha=0.15, label=r"$\pm 2\sigma(x)$, injected noise")
ax.set(xlabel="x", ylabel="y", title="heteroscedastic regression with a gap (shaded) in the training inputs")
ax.legend(loc="upper left", fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. A heteroscedastic network learns the noise (aleatoric)
#
# `mini_eau.regression` is an MLP with two tanh hidden layers of 64 units, inverted dropout after
# each, and a Gaussian head (SPEC §2, with $D = 1$) that predicts a mean and a bounded log-variance:
#
# $$\mu(x) = h(x) W_\mu + b_\mu,\qquad s(x) = \operatorname{bound}(h(x) W_s + b_s),\qquad
#   \operatorname{bound}(\tilde s) = 10\tanh(\tilde s / 10) \in (-10, 10).$$
#
# It is trained with the Gaussian negative log-likelihood (SPEC §9),
#
# $$L = \frac1N \sum_i \tfrac12\left[s_i + (y_i - \mu_i)^2 e^{-s_i} + \log 2\pi\right].$$
#
# **Why the variance head learns the noise.** Fix $x$ and look at the expected loss as a function of
# $s$: $\tfrac12[s + \mathbb E[(y - \mu)^2 \mid x]\,e^{-s}]$. Its derivative
# $\tfrac12[1 - \mathbb E[(y-\mu)^2 \mid x]\,e^{-s}]$ vanishes at
# $e^{s} = \mathbb E[(y - \mu)^2 \mid x] = \sigma^2(x) + (\sin x - \mu(x))^2$: once the mean is right,
# $e^{s(x)}$ is the noise variance $\sigma^2(x)$. That is aleatoric uncertainty, learned from
# residuals; nobody tells the network $\sigma(x)$.

# %% [markdown]
# ### Exercise 01.1 (remove a term and explain): the $\tfrac12 s$ term
#
# The per-sample loss has two parts that depend on $s$: the log-variance term $\tfrac12 s$ and the
# scaled residual $\tfrac12 r\,e^{-s}$, with $r = \mathbb E[(y - \mu)^2 \mid x]$ the mean squared residual.
# Write `my_best_log_variance(r, with_log_term)`: the $s \in [s_{\min}, s_{\max}]$ (the bound of the head,
# `S_MIN`, `S_MAX`) that minimises $\tfrac12[s + r e^{-s}]$ when `with_log_term` is true, and
# $\tfrac12 r e^{-s}$ — the same loss with the $\tfrac12 s$ term **removed** — when it is false.
# `r` is an array of positive numbers; return an array of the same shape. Then answer, in the
# markdown cell below the check (graded by hand): what does the removed term do for the variance head?

# %% nbgrader={"grade": false, "grade_id": "my_best_log_variance", "locked": false, "schema_version": 3, "solution": true, "task": false}
def my_best_log_variance(r, with_log_term=True):
    r = np.asarray(r, dtype=float)
    ### BEGIN SOLUTION
    if with_log_term:
        # d/ds of (s + r e^{-s})/2 is (1 - r e^{-s})/2: zero at e^s = r, a minimum (second derivative r e^{-s} / 2 > 0)
        return np.clip(np.log(r), S_MIN, S_MAX)
    # (r e^{-s})/2 falls for every s: nothing stops it before the bound
    return np.full_like(r, S_MAX)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_my_best_log_variance", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def check_best_log_variance(fn):
    nll = library_answer("mini_eau.layers:gaussian_nll_forward")
    r_chk = np.array([0.05, 0.3, 1.0, 2.5, 40.0])                 # mean squared residuals
    s_grid = np.linspace(S_MIN, S_MAX, 2001)                      # the head's whole range, step 0.01
    with without_library(globals(), "mini_eau.layers:gaussian_nll_forward"):
        got = {flag: np.asarray(fn(r_chk, with_log_term=flag), dtype=float) for flag in (True, False)}
    # the library's NLL of a residual sqrt(r) as a function of s, one row per r
    loss = np.array([[nll(np.zeros((1, 1)), np.full((1, 1), s), np.full((1, 1), np.sqrt(r)))[0] for s in s_grid]
                     for r in r_chk])
    stripped = loss - 0.5 * s_grid - 0.5 * np.log(2 * np.pi)      # the same loss, the s/2 term removed
    for flag, curve in ((True, loss), (False, stripped)):
        best = s_grid[np.argmin(curve, axis=1)]
        assert got[flag].shape == r_chk.shape, f"not yet: return one s per r (shape {r_chk.shape}), got {got[flag].shape}"
        print(f"with_log_term={flag}: your s* {np.round(got[flag], 3)}; grid minimiser of the library's NLL "
              f"{np.round(best, 3)}")
        err = np.max(np.abs(got[flag] - best))
        assert err < 0.02, f"not yet: with_log_term={flag} is off by up to {err:.2f} in s"


check_best_log_variance(my_best_log_variance)

# %% [markdown] nbgrader={"grade": true, "grade_id": "explain_my_best_log_variance", "locked": false, "points": 1, "schema_version": 3, "solution": true, "task": false}
# **What changed:** without $\tfrac12 s$ the loss only ever gains by raising $s$ — a larger variance divides every
# residual by more — so the head would claim the largest noise it can, for every input, and stop
# only at the bound. The $\tfrac12 s$ term (the normaliser $\log\sigma$ of the Gaussian density) is the
# price of claiming noise; the balance of the two is what makes $e^{s}$ *measure* the noise.

# %% [markdown]
# ### Exercise 01.2 (derive a backward): the Gaussian NLL with a bounded log-variance
#
# The variance head of every model in `mini_eau` ends in two steps: the bound of SPEC §2 and, for
# regression, the NLL above. With raw output $\tilde s$, $c = \tfrac12(s_{\max}+s_{\min})$ and
# $r = \tfrac12(s_{\max}-s_{\min})$:
#
# $$s = c + r\tanh\frac{\tilde s - c}{r},\qquad
#   L = \frac1N\sum_{i}\sum_d \tfrac12\left[s_{id} + (y_{id} - \mu_{id})^2 e^{-s_{id}} + \log 2\pi\right].$$
#
# **Goal:** given $\bar L$ = `dout`, return $(\partial L/\partial\mu, \partial L/\partial\tilde s)$.
# **Key identity:** $\frac{\mathrm d}{\mathrm dx}\tanh x = 1 - \tanh^2 x$; mind the normalisation ($\frac1N$ —
# the sum over $d$ is not averaged). The forward is the library's (`bound_forward`, then
# `gaussian_nll_forward`); the cache is the inputs. The check grades *your* function against central
# finite differences and autograd; the hints cell below it has the steps.

# %% nbgrader={"grade": false, "grade_id": "bounded_nll_forward", "locked": true, "schema_version": 3, "solution": false, "task": false}
def bounded_nll_forward(mu, raw_s, y):
    """The library's bound (SPEC §2) followed by its Gaussian NLL (SPEC §9); the cache is the inputs."""
    s, _ = bound_forward(raw_s)
    loss, _ = gaussian_nll_forward(mu, s, y)
    return loss, (mu, raw_s, y)


# %% nbgrader={"grade": false, "grade_id": "my_bounded_nll_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def my_bounded_nll_backward(dout, cache):
    mu, raw_s, y = cache
    ### BEGIN SOLUTION
    c, r = 0.5 * (S_MAX + S_MIN), 0.5 * (S_MAX - S_MIN)
    t = np.tanh((raw_s - c) / r)
    s = c + r * t
    n = mu.shape[0]
    resid, inv_var = y - mu, np.exp(-s)
    dmu = -dout * resid * inv_var / n                               # step 1
    ds = 0.5 * dout * (1.0 - resid * resid * inv_var) / n           # step 2
    return dmu, ds * (1.0 - t * t)                                  # step 3
    ### END SOLUTION


# %% [markdown]
# **Hints** (read only if stuck), with the residual $\rho = y - \mu$:
#
# 1. $\partial L/\partial\mu_{id} = -\frac{\bar L}{N}\rho_{id}\,e^{-s_{id}}$;
# 2. $\partial L/\partial s_{id} = \frac{\bar L}{2N}\left(1 - \rho_{id}^2 e^{-s_{id}}\right)$;
# 3. $\partial L/\partial\tilde s_{id} = \partial L/\partial s_{id}\cdot\left(1 - \tanh^2\frac{\tilde s_{id} - c}{r}\right)$.

# %% nbgrader={"grade": true, "grade_id": "check_my_bounded_nll_backward", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_rng = np.random.default_rng(7)
check_args = [check_rng.standard_normal((5, 2)),                            # mu     (N = 5, D = 2)
              np.array([[-3.0, 0.5], [1.2, -0.7], [14.0, 2.0], [-12.0, 0.1], [2.5, -1.5]]),   # raw s, two beyond the bound
              check_rng.standard_normal((5, 2))]                            # y
refused = ("mini_eau.layers:gaussian_nll_backward", "mini_eau.gaussian:bound_backward")
with without_library(globals(), *refused):
    report = check_backward(bounded_nll_forward, my_bounded_nll_backward, check_args, diff=[0, 1])
    my_dmu, my_draw = my_bounded_nll_backward(1.3, tuple(check_args))
print(report)
assert report.passed, "not yet: check the 1/N and the tanh' factor"

# the same gradients from the library's own backwards, chained
s_chk, c_bound = bound_forward(check_args[1])
_, c_nll = gaussian_nll_forward(check_args[0], s_chk, check_args[2])
lib_dmu, lib_ds = library_answer(refused[0])(1.3, c_nll)
exercise_vs_library = max(rel_error(my_dmu, lib_dmu), rel_error(my_draw, library_answer(refused[1])(lib_ds, c_bound)))
print(f"max rel. error vs gaussian_nll_backward + bound_backward: {exercise_vs_library:.1e}")
assert exercise_vs_library < 1e-12, exercise_vs_library


# %% [markdown]
# ## 3. The decomposition of a mixture's variance (SPEC §9)
#
# MC dropout (section 4) runs the network $T$ times; pass $t$ predicts $\mathcal N(\mu_t, \sigma_t^2)$. The $T$
# passes define an equal-weight **mixture**: pick $t$ uniformly from $\{1..T\}$, then draw
# $y \sim \mathcal N(\mu_t, \sigma_t^2)$.
#
# ### Exercise 01.3 (derive and implement a forward): mean, aleatoric and epistemic parts
#
# **Goal:** write `my_decompose_variance(mus, variances)`: from the $T$ passes' means and variances
# (arrays of shape $(T, \ldots)$, pass along axis 0) return the mixture's mean $\mu_*$ and its variance
# split in two, $\sigma_*^2 = \text{aleatoric} + \text{epistemic}$, where the aleatoric part is what the passes
# themselves call noise and the epistemic part what comes from their disagreement (each of shape
# $(\ldots)$). **Key identity:** the law of total variance,
# $\operatorname{Var}[y] = \mathbb E[\operatorname{Var}[y\mid t]] + \operatorname{Var}[\mathbb E[y\mid t]]$. Mind which
# "variance" of $T$ numbers the mixture needs, and compute it so that it cannot come out negative.
# The hints cell below the exercise has the steps.

# %% nbgrader={"grade": false, "grade_id": "my_decompose_variance", "locked": false, "schema_version": 3, "solution": true, "task": false}
def my_decompose_variance(mus, variances):
    ### BEGIN SOLUTION
    mean = np.mean(mus, axis=0)                          # E[y] = (1/T) sum_t mu_t
    aleatoric = np.mean(variances, axis=0)               # E_t[Var(y | t)]
    epistemic = np.mean((mus - mean) ** 2, axis=0)       # Var_t[E(y | t)]: centred, 1/T (not 1/(T-1))
    return mean, aleatoric, epistemic
    ### END SOLUTION


# %% [markdown]
# **Hints** (read only if stuck). $\operatorname{Var}[y] = \mathbb E[y^2] - (\mathbb E[y])^2$ with
#
# * $\mathbb E[y] = \frac1T\sum_t \mathbb E[y \mid t] = \frac1T\sum_t \mu_t =: \mu_*$ — the **mean** of the $\mu_t$;
# * $\mathbb E[y^2] = \frac1T\sum_t \mathbb E[y^2 \mid t] = \frac1T\sum_t (\sigma_t^2 + \mu_t^2)$, because
#   $\mathbb E[y^2 \mid t] = \operatorname{Var}[y \mid t] + (\mathbb E[y\mid t])^2$.
#
# Hence $\sigma_*^2 = \frac1T\sum_t \sigma_t^2 + \big(\frac1T\sum_t \mu_t^2 - \mu_*^2\big)$, and the bracket equals
# $\frac1T\sum_t(\mu_t - \mu_*)^2$ exactly when $\mu_* = \frac1T\sum_t\mu_t$ — a population variance (divide by
# $T$: the mixture has exactly these $T$ components, nothing is estimated). Compute the centred form:
# $\frac1T\sum_t\mu_t^2 - \mu_*^2$ loses every digit to cancellation when the passes agree on a large mean.

# %% nbgrader={"grade": true, "grade_id": "check_my_decompose_variance", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def check_decompose_variance(fn):
    reference = library_answer("mini_eau.uncertainty:decompose_variance")
    chk = np.random.default_rng(11)
    cases = [(chk.standard_normal((7, 5)), chk.uniform(0.1, 2.0, (7, 5))),        # T = 7 passes, 5 inputs
             (chk.standard_normal((3, 2, 4)), chk.uniform(0.1, 2.0, (3, 2, 4))),
             (1e4 + 1e-3 * chk.standard_normal((50, 6)), np.full((50, 6), 0.5))]   # passes agree on a large mean
    with without_library(globals(), "mini_eau.uncertainty:decompose_variance", "mini_eau.uncertainty:mc_dropout_predict"):
        got = [fn(m, v) for m, v in cases]
    for k, ((m, v), mine) in enumerate(zip(cases, got)):
        assert len(mine) == 3, "not yet: return (mean, aleatoric, epistemic)"
        for part, a, b in zip(("mean", "aleatoric", "epistemic"), mine, reference(m, v)):
            assert np.shape(a) == b.shape, f"not yet: case {k}, {part} has shape {np.shape(a)}, expected {b.shape}"
            err = rel_error(a, b)
            assert err < 1e-9, f"not yet: case {k}, the {part} part is off (rel. error {err:.1e})"
    print(f"all {len(cases)} cases agree with the library's decompose_variance (rel. error < 1e-9)")


check_decompose_variance(my_decompose_variance)

# %% [markdown]
# From here on the notebook uses the library's `decompose_variance` — the function you just wrote.

# %%
from mini_eau.uncertainty import decompose_variance  # noqa: E402  (after the exercise: it is the answer)

# %% [markdown]
# ## 4. Training, then MC dropout
#
# Training: Adam, minibatches of 256 with **fresh dropout masks** for every minibatch (keep
# probability 0.9). We pin BLAS to one thread (see the set-up cell). The line below it compares the
# deterministic pass (dropout off) with the injected noise on the training region.

# %%
with one_blas_thread():
    params = fit_regressor(x_train, y_train, rng, hidden=64, keep_prob=KEEP, epochs=EPOCHS, lr=1e-2, batch_size=256)
mu_det, var_det = predict_regressor(params, x_in)            # one pass, dropout off: the aleatoric part alone
print(f"deterministic pass on the training region: "
      f"RMSE of the mean {np.sqrt(np.mean((mu_det - true_mean(x_in)) ** 2)):.3f}, "
      f"median |sigma_pred / sigma_true - 1| = {np.median(np.abs(np.sqrt(var_det) / true_std(x_in) - 1)):.1%}")

# %% [markdown]
# ### MC dropout: $T$ passes with fresh masks
#
# At test time dropout stays **on**. Pass $t$ draws new keep-masks, which amounts to running a
# different sub-network, and predicts $(\mu_t(x), \sigma_t^2(x) = e^{s_t(x)})$. Where the
# training data pinned the function down the sub-networks agree; in the gap nothing did, and they
# need not.
#
# `predict_regressor(params, x, rng=g, n_passes=T)` does exactly this and hands the $T$ passes to
# `mc_dropout_predict` → `decompose_variance`. To look at the passes themselves we make the same
# $T$ calls one at a time (`n_passes=1`, same generator stream, so the same masks) and check that
# the library's summary is the decomposition of these very passes.
#
# One detail: `predict_regressor` draws a mask **per input row** (like training, where every
# sample of a minibatch gets its own mask). For the statistics at each $x$ that is what we want —
# the $T$ values at one $x$ are still $T$ independent sub-networks — but a "pass" is then not one
# function of $x$. To *draw* sub-networks as curves we hold one mask fixed across all $x$: one
# single-row call per $x$, every call seeded the same.

# %%
mc_seed = int(rng.integers(2 ** 31))
mean_g, ale_g, epi_g = predict_regressor(params, x_grid, rng=np.random.default_rng(mc_seed), n_passes=T_PASSES, keep_prob=KEEP)

g = np.random.default_rng(mc_seed)
passes = [predict_regressor(params, x_grid, rng=g, n_passes=1, keep_prob=KEEP) for _ in range(T_PASSES)]
mus_t = np.stack([p[0] for p in passes])        # (T, G): mu_t(x)
vars_t = np.stack([p[1] for p in passes])       # (T, G): sigma_t^2(x)
same_as_library = [rel_error(a, b) for a, b in zip(decompose_variance(mus_t, vars_t), (mean_g, ale_g, epi_g))]
print("max rel. difference, passes one by one vs predict_regressor:", max(same_as_library))

# the masks must be FRESH: reusing one mask (same seed for every pass) gives one sub-network T times
stale = [predict_regressor(params, x_grid, rng=np.random.default_rng(mc_seed), n_passes=1, keep_prob=KEEP) for _ in range(5)]
epi_stale = decompose_variance(np.stack([p[0] for p in stale]), np.stack([p[1] for p in stale]))[2]
print(f"epistemic variance with one reused mask: max {epi_stale.max():.1e} (fresh masks: max {epi_g.max():.3f})")

fig, ax = plt.subplots(figsize=(7, 3.6))
shade_gap(ax)
ax.scatter(x_train, y_train, s=2, alpha=0.15, color="grey")
x_curve = x_grid[::2]
curve_seeds = rng.integers(2 ** 31, size=20)
curves = np.array([[predict_regressor(params, x_curve[j:j + 1], rng=np.random.default_rng(cs), n_passes=1,
                                      keep_prob=KEEP)[0][0] for j in range(len(x_curve))] for cs in curve_seeds])
for t in range(len(curves)):
    ax.plot(x_curve, curves[t], color="C1", lw=0.7, alpha=0.7, label=r"20 sub-networks $\mu_t(x)$" if t == 0 else None)
ax.plot(x_grid, mean_g, "C0", lw=2, label=r"mixture mean $\mu_*(x)$")
ax.plot(x_grid, true_mean(x_grid), "k--", lw=1, label=r"$\sin x$")
ax.set(xlabel="x", ylabel="y", ylim=(-2.5, 2.5), title="MC dropout: sub-networks agree on the data, disagree in the gap")
ax.legend(loc="upper left", fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### The decomposition checked by sampling, and the reading note's typo
#
# The passes of section 4 at three inputs: we compare the variance of the mixture **estimated by
# sampling from it** with the library's $\mathbb E_t[\sigma_t^2] + \operatorname{Var}_t[\mu_t]$ (exercise 01.3), and
# with the formula as the seed note (`seed/000_…txt`) writes it, $\mu_*^2(x) = \frac1N\sum_i \mu_i^2(x)$.
# Taken literally, $\mu_*$ is then the *root mean square* of the $\mu_i$, the last two terms of
# $\sigma_*^2 = \frac1T\sum_t \sigma_t^2 + \frac1T\sum_t \mu_t^2 - \mu_*^2$ cancel, and the "epistemic" part is zero
# for every model and every $x$ — the formula would only ever report aleatoric uncertainty. The
# identity needs $\mu_*$ to be the mean (SPEC §9, §13).

# %%
mean_lib, ale_lib, epi_lib = decompose_variance(mus_t, vars_t)
total_by_formula = np.mean(vars_t + mus_t ** 2, axis=0) - np.mean(mus_t, axis=0) ** 2   # the middle line above
identity_error = rel_error(ale_lib + epi_lib, total_by_formula)

mu_star_typo = np.sqrt(np.mean(mus_t ** 2, axis=0))                       # mu*^2 := (1/T) sum_t mu_t^2
total_typo = np.mean(vars_t, axis=0) + np.mean(mus_t ** 2, axis=0) - mu_star_typo ** 2
epi_typo = total_typo - np.mean(vars_t, axis=0)

S = 400_000
probe_x = (-2.0, 0.0, 2.0)
probe = [int(np.argmin(np.abs(x_grid - v))) for v in probe_x]
mixture_var, mixture_mean = [], []
for j in probe:
    t_draw = rng.integers(T_PASSES, size=S)                                 # pick a pass uniformly ...
    y_draw = mus_t[t_draw, j] + np.sqrt(vars_t[t_draw, j]) * rng.standard_normal(S)   # ... then y ~ N(mu_t, sigma_t^2)
    mixture_var.append(y_draw.var())
    mixture_mean.append(y_draw.mean())
mixture_var, mixture_mean = np.array(mixture_var), np.array(mixture_mean)

print(f"E_t[sigma^2] + Var_t[mu] vs (1/T)sum(sigma^2 + mu^2) - mu*^2: rel. error {identity_error:.1e}")
print(f"typo'd formula: epistemic part = {np.abs(epi_typo).max():.1e} everywhere\n")
print(f"{'x':>5s} {'mixture var (sampled)':>22s} {'E[s^2]+Var[mu]':>15s} {'typo: E[s^2]':>13s} {'epistemic':>10s}"
      f" {'mixture mean':>13s} {'mu* (mean)':>11s} {'mu* (typo)':>11s}")
for k, j in enumerate(probe):
    print(f"{x_grid[j]:5.1f} {mixture_var[k]:22.4f} {ale_lib[j] + epi_lib[j]:15.4f} {total_typo[j]:13.4f} {epi_lib[j]:10.4f}"
          f" {mixture_mean[k]:13.3f} {mean_lib[j]:11.3f} {mu_star_typo[j]:11.3f}")

# %% [markdown]
# The corrected formula matches the sampled mixture variance at all three inputs; the typo'd one
# falls short by exactly $\operatorname{Var}_t[\mu_t]$ — small at $x = \pm 2$, where the passes agree,
# and large at $x = 0$, in the gap. Its "$\mu_*$" is not the mixture mean either: a root mean
# square is never negative, so at $x = -2$ (where $\sin x < 0$) it even has the wrong sign.

# %% [markdown]
# ## 5. The picture: aleatoric follows the noise, epistemic fills the gap
#
# Standard deviations (square roots of the two terms) against $x$, with the injected noise
# $\sigma(x)$ for reference.

# %%
fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
for a in ax:
    shade_gap(a)
    a.axvspan(-4, -3, color="grey", alpha=0.08, lw=0)
    a.axvspan(3, 4, color="grey", alpha=0.08, lw=0)
ax[0].plot(x_grid, true_std(x_grid), "k--", lw=1.5, label=r"injected noise $\sigma(x) = 0.1 + 0.2|x|$")
ax[0].plot(x_grid, np.sqrt(ale_g), "C0", lw=2, label=r"aleatoric $\sqrt{\mathbb{E}_t[\sigma_t^2]}$")
ax[0].set(xlabel="x  (orange: gap, grey: beyond the data)", ylabel="standard deviation",
          title="aleatoric: the noise the model attributes to the data")
ax[0].legend(fontsize=8)
ax[1].plot(x_grid, np.sqrt(epi_g), "C3", lw=2, label=r"epistemic $\sqrt{\mathrm{Var}_t[\mu_t]}$")
ax[1].set(xlabel="x  (orange: gap, grey: beyond the data)", ylabel="standard deviation",
          title="epistemic: disagreement between dropout passes")
ax[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

_, ale_in, epi_in = predict_regressor(params, x_in, rng=np.random.default_rng(mc_seed + 1), n_passes=T_PASSES, keep_prob=KEEP)
_, ale_gap, epi_gap = predict_regressor(params, x_gap, rng=np.random.default_rng(mc_seed + 1), n_passes=T_PASSES, keep_prob=KEEP)
epi_ratio = epi_gap.mean() / epi_in.mean()
ale_corr = np.corrcoef(np.sqrt(ale_in), true_std(x_in))[0, 1]
print(f"training region |x| in [1.2, 2.8]: corr(aleatoric std, injected std) = {ale_corr:.3f}, "
      f"median |ratio - 1| = {np.median(np.abs(np.sqrt(ale_in) / true_std(x_in) - 1)):.1%}")
print(f"epistemic variance: gap |x| <= 0.5 mean {epi_gap.mean():.4f}, training region mean {epi_in.mean():.4f} "
      f"-> ratio {epi_ratio:.2f}x")

# %% [markdown]
# Left: on the training region the predicted noise tracks the injected $\sigma(x)$ — it rises
# towards $|x| = 3$ as the data do. In the gap there is no data to measure noise from, and the
# aleatoric curve simply interpolates between the two sides: aleatoric uncertainty is only as
# good as the data it was measured on. Right: the epistemic part is small where there were data
# and several times larger in the gap, the one place where the network had to make something up.
# (The curves are ragged because every $x$ has its own $T$ masks: a variance estimated from
# $T$ draws has a relative standard error of roughly $\sqrt{2/T}$.)
#
# Beyond the data (grey, $|x| > 3$) the epistemic part does **not** grow here: the tanh units
# saturate, so every sub-network extrapolates as a flat line and they agree. "No data" does not
# automatically mean "high epistemic uncertainty" — it depends on how the model family
# extrapolates.
#
# This is why EAU uses **aleatoric** uncertainty for fusion weights (SPEC §6): the question there
# is "how noisy is this modality's input?", not "has the model seen inputs like this?" — and why
# the paper's Gaussian heads learn $\sigma^2$ directly instead of running MC dropout.
#
# A caveat worth knowing: MC dropout is known to be weak at this kind of *in-between* uncertainty
# (Foong et al., 2019). It needs enough data and training to show at all, and the ratio grows with
# training (`tests/test_regression.py` measures its spread over seeds at the library's default
# budget; section 7 retrains on more seeds in full mode).

# %% [markdown]
# ## 6. The classification analogue (SPEC §9)
#
# For a classifier each pass gives probabilities $p_t$, and the role of the variance is played by
# the entropy $H[p] = -\sum_k p_k\log p_k$ of the mean prediction $\bar p = \frac1T\sum_t p_t$:
#
# $$\underbrace{H[\bar p]}_{\text{total}} = \underbrace{\frac1T\sum_t H[p_t]}_{\text{aleatoric}}
#   + \underbrace{H[\bar p] - \frac1T\sum_t H[p_t]}_{\text{epistemic = mutual information } I(y; t)} .$$
#
# The epistemic term is $\ge 0$ (entropy is concave). Two passes on two classes,
# $p_1 = (q, 1-q)$ and $p_2 = (1-q, q)$: at $q = \tfrac12$ both passes say "coin flip" (all
# aleatoric); at $q = 1$ each pass is certain but they contradict each other (all epistemic). The
# total stays $\log 2$ throughout: the entropy of $\bar p$ alone cannot tell the two apart.

# %%
qs = np.linspace(0.5, 1.0, 51)
probs = np.stack([np.stack([qs, 1 - qs], axis=1), np.stack([1 - qs, qs], axis=1)])    # (T=2, N=51, K=2)
H_total, H_ale, H_epi = decompose_entropy(probs)
agree = np.repeat(probs[:1], 2, axis=0)                                                 # both passes identical
_, _, H_epi_agree = decompose_entropy(agree)

fig, ax = plt.subplots(figsize=(6.5, 3.4))
ax.stackplot(qs, H_ale, H_epi, labels=[r"aleatoric $\frac{1}{T}\sum_t H[p_t]$", r"epistemic $I(y;t)$"],
             colors=["C0", "C3"], alpha=0.6)
ax.plot(qs, H_total, "k--", lw=1, label=r"total $H[\bar p]$")
ax.set(xlabel=r"confidence $q$ of each pass (the two passes name opposite classes)", ylabel="entropy (nats)",
       title="two disagreeing passes: from aleatoric to epistemic")
ax.legend(fontsize=8, loc="center left")
plt.tight_layout()
plt.show()
print(f"q = 0.5: aleatoric {H_ale[0]:.4f}, epistemic {H_epi[0]:.4f};  q = 1: aleatoric {H_ale[-1]:.4f}, "
      f"epistemic {H_epi[-1]:.4f} (log 2 = {np.log(2):.4f});  passes that agree: epistemic max {H_epi_agree.max():.1e}")

# %% [markdown]
# ## 7. How robust is the gap signal? (full mode only)
#
# One training run is one draw. In full mode we retrain on four more data/initialisation seeds
# (1200 epochs each). The in-between epistemic signal of MC dropout depends on the problem: an
# earlier version of `data.make_regression_1d` (mean $\sin(1.5x) + 0.3x$, noise $0.05 + 0.05x^2$,
# the same gap) gave a much smaller ratio with these settings, while the aleatoric part was learned well.

# %%
def gap_ratio_and_corr(x, y, sigma_fn, seed):
    g = np.random.default_rng(seed)
    with one_blas_thread():
        p = fit_regressor(x, y, g, hidden=64, keep_prob=KEEP, epochs=EPOCHS, lr=1e-2, batch_size=256)
    _, a_in, e_in = predict_regressor(p, x_in, rng=g, n_passes=T_PASSES, keep_prob=KEEP)
    _, _, e_gap = predict_regressor(p, x_gap, rng=g, n_passes=T_PASSES, keep_prob=KEEP)
    return e_gap.mean() / e_in.mean(), np.corrcoef(np.sqrt(a_in), sigma_fn(x_in))[0, 1]


seed_ratios = []
if FAST:
    print("fast mode: skipped (run with MINI_EAU_FAST unset)")
else:
    for k in range(4):
        seed = int(rng.integers(2 ** 31))
        g = np.random.default_rng(seed)
        xs_k, ys_k, _ = make_regression_1d(N_TRAIN, g, gap=(-1.0, 1.0), x_range=(-3.0, 3.0))
        ratio_k, corr_k = gap_ratio_and_corr(xs_k[:, 0], ys_k, true_std, seed + 1)
        seed_ratios.append(ratio_k)
        print(f"seed {seed:10d}: epistemic gap/training {ratio_k:.2f}x, aleatoric corr {corr_k:.3f}")

# %% [markdown]
# ## What the notebook showed — checked
#
# * **epistemic** variance (MC dropout, fresh masks) in the middle of the gap is several times its
#   value on the training inputs: more than `RATIO_MIN` times, in both modes. The threshold sits
#   below the seed-to-seed spread (`tests/test_regression.py` measures it at the library's default
#   budget; full mode adds four seeds in section 7), while a model without fresh masks gives no
#   gap at all;
# * **aleatoric** std follows the injected noise std on the training region (correlation and median
#   relative error against the thresholds printed below);
# * the decomposition is exact — $\mathbb E_t[\sigma_t^2] + \operatorname{Var}_t[\mu_t]$ equals the mixture
#   variance, by formula and by sampling — and the typo'd $\mu_*^2 = \frac1T\sum_t\mu_t^2$ misses the
#   mixture variance in the gap;
# * the masks must be fresh: one reused mask gives zero epistemic variance;
# * classification: agreeing passes have zero mutual information; confident contradicting
#   passes have $\log 2$ of it and no aleatoric entropy.

# %%
assert epi_ratio > RATIO_MIN, f"epistemic variance gap/training = {epi_ratio:.2f}x, expected > {RATIO_MIN}x"
ale_median_err = np.median(np.abs(np.sqrt(ale_in) / true_std(x_in) - 1))
print(f"thresholds: gap/training > {RATIO_MIN}x, aleatoric corr > {CORR_MIN}, median rel. error < {MEDIAN_ERR_MAX:.0%}")
assert ale_corr > CORR_MIN, ale_corr
assert ale_median_err < MEDIAN_ERR_MAX, ale_median_err
assert max(same_as_library) < 1e-12 and epi_stale.max() < 1e-20
assert identity_error < 1e-10, identity_error
assert np.all(np.abs(mixture_var - (ale_lib + epi_lib)[probe]) < 0.02 * mixture_var), mixture_var
gap_j = probe[1]
assert mixture_var[1] > 1.05 * total_typo[gap_j], (mixture_var[1], total_typo[gap_j])   # the typo misses Var[mu]
assert abs(H_ale[0] - np.log(2)) < 1e-12 and H_epi[0] < 1e-12
assert abs(H_epi[-1] - np.log(2)) < 1e-12 and H_ale[-1] < 1e-12
assert np.allclose(H_total, np.log(2)) and H_epi_agree.max() < 1e-12
if not FAST:
    assert min(seed_ratios) > RATIO_MIN, seed_ratios
print(f"all checks passed: epistemic gap/training {epi_ratio:.2f}x (> {RATIO_MIN}x), "
      f"aleatoric corr {ale_corr:.3f}, median rel. error {ale_median_err:.1%}" + ("" if FAST else f", extra seeds {np.round(seed_ratios, 2)}"))
