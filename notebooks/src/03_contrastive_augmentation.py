# %% [markdown]
# # 03 — Contrastive augmentation with learned Gaussians: L_URA and its three variants
#
# SUFA (stable unimodal feature augmentation) turns each modality's Gaussian
# $p(z^m\mid x^m) = \mathcal N(\mu^m, \operatorname{diag} e^{s^m})$ (SPEC §2) into a **data
# augmentation**: two draws per sample, an *anchor* $\tilde z_i$ and an *augmented point* $z_i$,
# must recognise each other among the batch. The loss that asks for it is the
# uncertainty-based contrastive loss $L_{URA}$ (SPEC §5). Because the spread of the draws is the
# learned aleatoric uncertainty $\sigma = e^{s/2}$, the augmentation is strong where the data are
# noisy and weak where they are clean — and the loss's gradient reaches $s$.
#
# The one idea of this notebook: **what L_URA computes, and what the paper's unusual
# denominator changes** compared with the standard InfoNCE and with the authors' released code.
#
# 1. three exercises, before any training: **03.1** derive and implement the paper's row loss;
#    **03.2** predict the three variants' values on a batch whose cosines are all 0, then check;
#    **03.3** the backward of the InfoNCE variant;
# 2. anchor and augmented samples from a trained EAU's Gaussians (SPEC §3);
# 3. the three variants `"paper"`, `"infonce"`, `"official"` side by side: values and gradients;
# 4. the paper's denominator: a floor $\log(N-1)$ and a positive-pair gradient shrunk by up to $N-1$.
#
# Each exercise is a cell to fill in (in the student notebook it raises `NotImplementedError` until
# you do), followed by a cell that checks it.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from mini_eau import EAU, EAUConfig, TrainConfig, fit
from mini_eau.contrastive import COSINE_EPS, VARIANTS, cosine_similarity_forward
from mini_eau.lab.data import ToyProblem
from mini_eau.gaussian import sample_backward, sample_forward
from mini_eau.gradcheck import check_backward, rel_error

# %config InlineBackend.figure_format = "png"
plt.rcParams.update({"figure.dpi": 80, "font.size": 10})

FAST = os.environ.get("MINI_EAU_FAST") == "1"
rng = np.random.default_rng(3)             # the one generator behind every draw below
N_TRAIN, EPOCHS = (1500, 15) if FAST else (4000, 40)
TAU = 0.5                                  # L_URA temperature (the released value, SPEC §5)
print(f"FAST={FAST}: {N_TRAIN} training samples, {EPOCHS} epochs")

# %% nbgrader={"grade": false, "grade_id": "grading_tools", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Grading tools: scripts/build_notebooks.py writes notebooks/src/grading_tools.py into this cell.


# %% [markdown]
# ## 1. The paper's L_URA, derived and implemented (SPEC §5)
#
# For one modality and a batch of $N$ samples, draw an anchor $\tilde z_i$ and an augmented point
# $z_i$ per sample (section 2 shows how) and compare every anchor with every augmented point:
# $S_{ij} = \cos(\tilde z_i, z_j)/\tau$. Row $i$ holds anchor $i$ against all augmented points; $(i, i)$
# is the positive pair, $(i, j \ne i)$ the negatives. The paper writes the loss of row $i$ as
#
# $$l_i = -\log\frac{e^{S_{ii}}}{\sum_{j\ne i}\big(e^{S_{ii}} + e^{S_{ij}}\big)},\qquad L = \frac1N\sum_i l_i .$$
#
# ### Exercise 03.1 (derive and implement a forward): the paper's row loss
#
# **Goal:** write `my_paper_rows(anchor, positive, tau)`: the $N$ row losses $l_i$ (shape $(N,)$) for
# anchors and augmented points given as $(N, D)$ arrays. Use `cosine_similarity_forward(a, b)` (it
# returns $C_{ij} = \cos(a_i, b_j)$ and a cache) for the cosines. It must stay finite at
# $\tau = 10^{-3}$, where $|S_{ij}|$ reaches 1000 and $e^{S}$ overflows. **Key identity:**
# $\log\sum_j e^{x_j} = m + \log\sum_j e^{x_j - m}$ for any $m$ (take $m = \max_j x_j$); first simplify the
# sum in the denominator — how many times does $e^{S_{ii}}$ appear in it? The hints cell below has the steps.

# %% nbgrader={"grade": false, "grade_id": "my_paper_rows", "locked": false, "schema_version": 3, "solution": true, "task": false}
def my_paper_rows(anchor, positive, tau=0.5):
    ### BEGIN SOLUTION
    n = anchor.shape[0]
    C, _ = cosine_similarity_forward(anchor, positive)
    S = C / tau
    # the denominator is (N-1) e^{S_ii} + sum_{j != i} e^{S_ij}: the diagonal entry carries log(N-1)
    U = S + np.log(n - 1) * np.eye(n)
    m = U.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(U - m), axis=1))
    return lse - np.diag(S)
    ### END SOLUTION


# %% [markdown]
# **Hints** (read only if stuck).
#
# 1. The denominator holds $e^{S_{ii}}$ once for every $j \ne i$: it is $(N-1)e^{S_{ii}} + \sum_{j\ne i} e^{S_{ij}}$.
# 2. So $l_i = \log\big(\sum_j e^{U_{ij}}\big) - S_{ii}$ with $U = S + \log(N-1)\,I$: the diagonal entry of $U$
#    is $S_{ii} + \log(N-1)$, i.e. $e^{U_{ii}} = (N-1)e^{S_{ii}}$.
# 3. Compute $\log\sum_j e^{U_{ij}}$ row by row with the key identity, $m_i = \max_j U_{ij}$.
# 4. Consequence: $l_i \ge \log(N-1)$ (the floor of section 4).

# %% nbgrader={"grade": true, "grade_id": "check_my_paper_rows", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def library_rows(anchor, positive, tau, variant="paper"):
    # the library's per-row losses l_i (kept in its forward's cache) and the mean it returns
    loss, (_, directions, _) = library_answer("mini_eau.contrastive:ura_loss_forward")(anchor, positive, tau=tau,
                                                                                       variant=variant)
    return directions[0][0], loss


def check_paper_rows(fn):
    chk = np.random.default_rng(13)
    cases = [(chk.standard_normal((5, 4)), chk.standard_normal((5, 4)), 0.5),
             (chk.standard_normal((8, 3)), chk.standard_normal((8, 3)), 0.1),
             (chk.standard_normal((6, 2)), chk.standard_normal((6, 2)), 1e-3)]      # |S| up to 1000
    with without_library(globals(), "mini_eau.contrastive:ura_loss_forward", "mini_eau.contrastive:ura_loss_total_forward"):
        got = [np.asarray(fn(a, b, tau)) for a, b, tau in cases]
    for (a, b, tau), mine in zip(cases, got):
        rows, loss = library_rows(a, b, tau)
        assert mine.shape == rows.shape, f"not yet: tau={tau}: shape {mine.shape}, expected {rows.shape} (one loss per row)"
        assert np.all(np.isfinite(mine)), f"not yet: tau={tau}: your rows overflow (use the key identity)"
        err = rel_error(mine, rows)
        assert err < 1e-10, f"not yet: tau={tau}: rel. error {err:.1e} against the library's rows"
        assert abs(mine.mean() - loss) < 1e-9 * abs(loss)
    print(f"your rows agree with the library's paper variant on {len(cases)} batches, down to tau = {cases[-1][2]}")


check_paper_rows(my_paper_rows)

# %% [markdown]
# ### Exercise 03.2 (predict, then check): every cosine 0
#
# Take a batch whose anchors and augmented points are all orthogonal, e.g. anchors $e_0 .. e_{N-1}$ and
# augmented points $e_N .. e_{2N-1}$ in $\mathbb R^{2N}$: every $S_{ij} = 0$, positives included. Before
# running anything, **predict** the loss of each variant as a function of $N$, from the table:
#
# | variant | $l_i$ |
# |---|---|
# | `"paper"` | the formula above |
# | `"infonce"` | $-\log\dfrac{e^{S_{ii}}}{\sum_j e^{S_{ij}}}$ (the positive once in the denominator) |
# | `"official"` | $-\log\dfrac{e^{S_{ii}}}{e^{S_{ii}} + 2\sum_{j\ne i}e^{S_{ij}}}$ (the released code), averaged with the same on $S^\top$ |
#
# Write `my_zero_cosine_losses(N)` returning a dict `{"paper": ..., "infonce": ..., "official": ...}` of
# your closed forms. Which variant is largest, and why?

# %% nbgrader={"grade": false, "grade_id": "my_zero_cosine_losses", "locked": false, "schema_version": 3, "solution": true, "task": false}
def my_zero_cosine_losses(N):
    ### BEGIN SOLUTION
    # every e^{S} is 1: count the terms of each denominator
    return {"paper": np.log(2 * (N - 1)),          # (N-1) copies of the positive + (N-1) negatives
            "infonce": np.log(N),                  # the positive + (N-1) negatives
            "official": np.log(1 + 2 * (N - 1))}   # the positive + every negative counted twice
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_my_zero_cosine_losses", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def check_zero_cosine_losses(fn):
    sizes = (3, 8, 50)
    with without_library(globals(), "mini_eau.contrastive:ura_loss_forward", "mini_eau.contrastive:ura_loss_total_forward"):
        predicted = {N: fn(N) for N in sizes}
    for N in sizes:
        eye = np.eye(2 * N)
        for v in VARIANTS:
            measured = library_rows(eye[:N], eye[N:], 0.5, v)[1]
            assert v in predicted[N], f"not yet: no prediction for the {v!r} variant"
            assert abs(predicted[N][v] - measured) < 1e-9, \
                f"not yet: N={N}, {v}: you predicted {predicted[N][v]:.4f}, the library gives {measured:.4f}"
    print("N:", sizes, "| predicted = measured for every variant:",
          {v: [round(float(predicted[N][v]), 4) for N in sizes] for v in VARIANTS})


check_zero_cosine_losses(my_zero_cosine_losses)

# %% [markdown]
# With every cosine 0 nothing distinguishes the positive from the negatives, and each variant reports
# the log of how many terms its denominator holds: InfoNCE $N$ (the positive and $N-1$ negatives), the
# paper $2(N-1)$ (the positive $N-1$ times), the released code $2N-1$ (every negative twice) — the
# largest, by one term. Far from the paper's floor $\log(N-1)$: it is reached only when the positive
# dominates its row.
#
# ### Exercise 03.3 (derive a backward): the InfoNCE variant
#
# Derive $\partial L/\partial\tilde z$ and $\partial L/\partial z$ for
# $L = \frac1N\sum_i\big[\operatorname{LSE}_j S_{ij} - S_{ii}\big]$, $S = C/\tau$, $C_{ij} = \hat a_i\cdot\hat b_j$,
# where $\hat a_i = \tilde z_i / r_i$, $r_i = \sqrt{\lVert\tilde z_i\rVert^2 + \epsilon^2}$ (and the same for $z$;
# $\epsilon$ = `COSINE_EPS` softens zero-length rows). **Key facts:** the derivative of a log-sum-exp is
# a softmax; a cosine does not change when a row is rescaled. The hints cell below has the steps.
#
# The forward is the library's `ura_loss_forward(..., variant="infonce")`; the cache is the
# inputs. Write the body of `my_infonce_backward` (in the student notebook: replace the
# `raise NotImplementedError(...)` line), then run the check below it: it grades *your* function.

# %% [markdown]
# **Hints** (read only if stuck). Three steps:
#
# 1. through the log-sum-exp: $\partial L/\partial S = \frac{\text{dout}}{N}(P - I)$ with $P$ the row softmax of $S$;
# 2. through the product: $\partial L/\partial\hat A = G\hat B$ and $\partial L/\partial\hat B = G^\top\hat A$, $G = (\partial L/\partial S)/\tau$;
# 3. through the normalisation: $\partial L/\partial a_i = \big(g_i - \hat a_i(\hat a_i\cdot g_i)\big)/r_i$ — the
#    radial part of the gradient is removed.

# %% nbgrader={"grade": false, "grade_id": "infonce_forward", "locked": true, "schema_version": 3, "solution": false, "task": false}
def infonce_forward(anchor, positive, tau=0.5):
    """The library's InfoNCE forward; the cache is simply the inputs."""
    loss, _ = library_answer("mini_eau.contrastive:ura_loss_forward")(anchor, positive, tau=tau, variant="infonce")
    return loss, (anchor, positive, tau)


# %% nbgrader={"grade": false, "grade_id": "my_infonce_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def my_infonce_backward(dout, cache):
    anchor, positive, tau = cache
    ### BEGIN SOLUTION
    n = anchor.shape[0]
    r = np.sqrt(np.sum(anchor ** 2, axis=1, keepdims=True) + COSINE_EPS ** 2)
    q = np.sqrt(np.sum(positive ** 2, axis=1, keepdims=True) + COSINE_EPS ** 2)
    a_hat, b_hat = anchor / r, positive / q
    S = a_hat @ b_hat.T / tau
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    G = (P - np.eye(n)) * (dout / n) / tau          # dL/dC
    g_a, g_b = G @ b_hat, G.T @ a_hat                # dL/d a_hat, dL/d b_hat
    d_anchor = (g_a - a_hat * np.sum(a_hat * g_a, axis=1, keepdims=True)) / r
    d_positive = (g_b - b_hat * np.sum(b_hat * g_b, axis=1, keepdims=True)) / q
    ### END SOLUTION
    return d_anchor, d_positive


# %% nbgrader={"grade": true, "grade_id": "check_my_infonce_backward", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_rng = np.random.default_rng(7)
check_args = [check_rng.standard_normal((5, 4)), check_rng.standard_normal((5, 4))]
refused = ("mini_eau.contrastive:ura_loss_backward", "mini_eau.contrastive:ura_loss_total_backward")
_, my_cache = infonce_forward(*check_args)
with without_library(globals(), *refused):
    report = check_backward(infonce_forward, my_infonce_backward, check_args, diff=[0, 1])
    mine = my_infonce_backward(0.7, my_cache)
print(report)
assert report.passed, "not yet: go through the three steps again"
_, lib_cache = library_answer("mini_eau.contrastive:ura_loss_forward")(*check_args, tau=0.5, variant="infonce")
exercise_vs_library = max(rel_error(a, b) for a, b in zip(mine, library_answer(refused[0])(0.7, lib_cache)))
print(f"max rel. error vs ura_loss_backward: {exercise_vs_library:.1e}")
assert exercise_vs_library < 1e-12, exercise_vs_library

# %% [markdown]
# From here on the notebook uses the library's contrastive losses — what you just wrote.

# %%
from mini_eau.contrastive import ura_loss_backward, ura_loss_forward, ura_loss_total_forward  # noqa: E402

# %% [markdown]
# ## 2. Anchor and augmented samples (SPEC §3)
#
# With noise $\varepsilon \sim \mathcal N(0, I)$ passed in by the caller (so the maths stays a
# deterministic, checkable function),
#
# $$\tilde z_i = \mu_i + e^{s_i/2}\odot\varepsilon_{1,i}, \qquad z_i = \mu_i + e^{s_i/2}\odot\varepsilon_{2,i}.$$
#
# This is the reparameterisation trick: $\partial z/\partial\mu = 1$ and
# $\partial z/\partial s = \tfrac12 e^{s/2}\varepsilon$, so whatever loss is put on the samples
# sends gradient to the variance head too (`sample_backward`).
#
# We train a small EAU on the toy problem of SPEC §11 with **2-D embeddings** (so we can look at
# them) and draw anchors and augmented points for a few test samples, one with a clean and one
# with a very noisy view A.

# %%
problem = ToyProblem(seed=0)
train = problem.sample(N_TRAIN, rng)
model = EAU((problem.d_a, problem.d_b), problem.n_classes, EAUConfig(hidden=(32,), d_embed=2))
trained = fit(model, train, TrainConfig(epochs=EPOCHS, batch_size=64), seed=int(rng.integers(2 ** 31)))
last = trained.history[-1]
print(f"last epoch: loss {last['loss']:.3f}, terms (unweighted) "
      + ", ".join(f"{k} {v:.3f}" for k, v in last["terms"].items()) + f", train accuracy {last['accuracy']:.3f}")

# %%
clean = problem.sample(4, rng, noise_a=0.0, noise_b=1.0)
noisy = problem.sample(4, rng, noise_a=6.0, noise_b=1.0)
n_draws = 150
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
for ax, data, name in zip(axes, (clean, noisy), ("view A clean (noise 0)", "view A very noisy (noise 6)")):
    mus, ss = trained.embed(data.xs)                                   # (M, N, D)
    mu_a, s_a = mus[0], ss[0]                                         # modality A
    for i, c in enumerate(plt.cm.tab10(np.arange(4))):
        mu_rep, s_rep = np.repeat(mu_a[i:i + 1], n_draws, 0), np.repeat(s_a[i:i + 1], n_draws, 0)
        cloud, _ = sample_forward(mu_rep, s_rep, rng.standard_normal((n_draws, 2)))
        ax.scatter(*cloud.T, s=4, color=c, alpha=0.25)
        anchor, _ = sample_forward(mu_a[i:i + 1], s_a[i:i + 1], rng.standard_normal((1, 2)))
        aug, _ = sample_forward(mu_a[i:i + 1], s_a[i:i + 1], rng.standard_normal((1, 2)))
        ax.plot([anchor[0, 0], aug[0, 0]], [anchor[0, 1], aug[0, 1]], "-", color=c, lw=1)
        ax.plot(*anchor[0], "^", color=c, ms=9, mec="k")
        ax.plot(*aug[0], "s", color=c, ms=7, mec="k")
        ax.plot(*mu_a[i], "k+", ms=10)
    sig = np.exp(s_a / 2).mean()
    ax.set(xlabel="$z_1$", ylabel="$z_2$", title=f"{name}\nmean $\\sigma^A$ = {sig:.2f}")
    ax.set_aspect("equal", adjustable="datalim")
axes[0].plot([], [], "k^", label=r"anchor $\tilde z_i$")
axes[0].plot([], [], "ks", label=r"augmented $z_i$")
axes[0].plot([], [], "k+", label=r"mean $\mu_i$")
axes[0].legend(fontsize=8)
fig.suptitle("draws from the learned Gaussians of modality A (150 per sample as a cloud; one positive pair drawn)",
             fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# The noisy view's Gaussians are wider — the head learned a larger $\sigma$ for it (note also
# that its means move further from the origin: the encoder is not scale-free, noisy inputs give
# larger features). The contrastive loss only sees **directions** (cosine similarity), so what
# matters for it is the spread relative to $\lVert\mu\rVert$.
#
# ## 3. The similarity matrix and the three variants (SPEC §5)
#
# For one modality and a batch of $N$ samples, $S_{ij} = \cos(\tilde z_i, z_j)/\tau$: row $i$
# holds anchor $i$ against every augmented point; $(i,i)$ is the positive pair, $(i, j\ne i)$ the
# negatives. The three variants differ only in the denominator (exercise 03.2's table, and the form
# the library computes):
#
# | variant | $l_i$ | as $\operatorname{LSE}_j(S_{ij} + B_{ij}) - S_{ii}$ |
# |---|---|---|
# | `"paper"` | $-\log\dfrac{e^{S_{ii}}}{\sum_{j\ne i}(e^{S_{ii}} + e^{S_{ij}})} = -\log\dfrac{e^{S_{ii}}}{(N-1)e^{S_{ii}} + \sum_{j\ne i}e^{S_{ij}}}$ | $B = \log(N-1)\, I$ |
# | `"infonce"` | $-\log\dfrac{e^{S_{ii}}}{\sum_j e^{S_{ij}}}$ | $B = 0$ |
# | `"official"` | $-\log\dfrac{e^{S_{ii}}}{e^{S_{ii}} + 2\sum_{j\ne i}e^{S_{ij}}}$, averaged with the same on $S^\top$ | $B = \log 2\,(\mathbf 1\mathbf 1^\top - I)$ |
#
# (LSE is log-sum-exp, which the library uses for stability.) The `"paper"` row is what the
# paper writes: its sum over $j \ne i$ repeats the positive term $N-1$ times. `"official"` is what
# the released code computes: a GRACE-style loss whose "reflection" matrix duplicates the
# "between" matrix, hence the 2, used in both directions. $L_{URA} = \sum_m \frac1N\sum_i l_i^m$.
#
# A batch of $N = 8$ test samples from the trained model, modality A:

# %%
N = 8
batch = problem.sample(N, rng)                                        # training-like noise levels
mus, ss = trained.embed(batch.xs)
eps1, eps2 = rng.standard_normal(mus.shape), rng.standard_normal(mus.shape)
anchors, anchor_cache = sample_forward(mus, ss, eps1)
augs, aug_cache = sample_forward(mus, ss, eps2)
C, _ = cosine_similarity_forward(anchors[0], augs[0])
np.set_printoptions(precision=2, suppress=True, linewidth=120)
print("cos(anchor_i, augmented_j), modality A (diagonal = positive pairs):\n", C)

# %% [markdown]
# Values and gradients of each variant on this batch. Each backward returns
# $\partial L/\partial\tilde z$ and $\partial L/\partial z$; `sample_backward` carries both to
# $\mu$ and to the log-variance $s$.

# %%
values, grads = {}, {}
print(f"log(N-1) = {np.log(N - 1):.4f},  log N = {np.log(N):.4f}")
print(f"{'variant':9s} {'L (mod. A)':>10s} {'L_URA (A+B)':>12s} {'|dL/d anchor|':>14s} {'|dL/d aug|':>11s} "
      f"{'sum dL/ds^A':>12s}")
for v in VARIANTS:
    loss, cache = ura_loss_forward(anchors[0], augs[0], tau=TAU, variant=v)
    d_anchor, d_aug = ura_loss_backward(1.0, cache)
    total, _ = ura_loss_total_forward(anchors, augs, tau=TAU, variant=v)
    # to the Gaussian's parameters: through both draws, as in the model (SPEC §3)
    dmu1, ds1 = sample_backward(d_anchor, anchor_cache[0])
    dmu2, ds2 = sample_backward(d_aug, aug_cache[0])
    values[v], grads[v] = float(loss), (d_anchor, d_aug)
    print(f"{v:9s} {loss:10.4f} {total:12.4f} {np.linalg.norm(d_anchor):14.4f} {np.linalg.norm(d_aug):11.4f} "
          f"{np.sum(ds1 + ds2):12.4f}")

# %% [markdown]
# A positive $\sum\partial L/\partial s$ means that gradient descent on $L_{URA}$ alone would
# **shrink** the variance on this draw: the easiest way to make an anchor recognise its
# augmented point is to make the augmentation weaker. In EAU the task loss and the prior term
# of $L_{UDR}$ (notebook 02) push back, which is why $L_{URA}$ has a weight (`lambda_ura`, SPEC §8).
#
# ## 4. What the paper's denominator changes
#
# Write $E_i = e^{S_{ii}}$ and $R_i = \sum_{j\ne i} e^{S_{ij}}$. Then
#
# $$l_i^{\text{infonce}} = \log(E_i + R_i) - S_{ii},\qquad l_i^{\text{paper}} = \log\big((N-1)E_i + R_i\big) - S_{ii}.$$
#
# **A floor.** $l_i^{\text{paper}} = \log(N-1) + \log\big(1 + R_i/((N-1)E_i)\big) \ge \log(N-1)$: however
# well the positives align, the paper's loss never goes below $\log(N-1)$ (InfoNCE goes to 0).
#
# **A shrunk gradient.** Let $\rho_i = \dfrac{E_i + R_i}{(N-1)E_i + R_i} \in \big[\tfrac1{N-1}, 1\big]$.
# Then $l^{\text{paper}}_i = l^{\text{infonce}}_i - \log\rho_i$, and since the softmax weights of the
# negatives are $e^{S_{ij}}$ over the denominator in both cases,
# $P^{\text{paper}}_{ij} = \rho_i P^{\text{infonce}}_{ij}$ for $j \ne i$. Both gradients with respect
# to row $i$ of $S$ are $\sum_{j\ne i}P_{ij}(e_j - e_i)$, so
#
# $$\frac{\partial L^{\text{paper}}}{\partial \tilde z_i} = \rho_i\,\frac{\partial L^{\text{infonce}}}{\partial \tilde z_i}\quad\text{exactly.}$$
#
# The paper's loss is InfoNCE with each anchor's gradient down-weighted by $\rho_i$: when the
# positive already dominates ($E_i \gg R_i$) the pull is $N-1$ times weaker — a built-in
# down-weighting of easy pairs. Check both statements on the batch above ($\rho_i$ from the
# library's cosine matrix):

# %%
S = C / TAU
E = np.exp(np.diag(S))
R = np.exp(S).sum(axis=1) - E
rho = (E + R) / ((N - 1) * E + R)
print("rho_i =", rho.round(3), f"(bounds {1 / (N - 1):.3f} .. 1)")
loss_gap = values["paper"] - values["infonce"]
print(f"L_paper - L_infonce = {loss_gap:.6f};  mean_i(-log rho_i) = {np.mean(-np.log(rho)):.6f}")
grad_relation_err = rel_error(grads["paper"][0], rho[:, None] * grads["infonce"][0])
print(f"rel. error of  dL_paper/d anchor  vs  rho_i * dL_infonce/d anchor : {grad_relation_err:.1e}")

# %% [markdown]
# ### Loss and pull versus the positive similarity
#
# To isolate the positive pair, build a batch where every negative similarity is exactly 0 and
# every positive similarity is $c$: anchors $\tilde z_i = e_i$ and augmented points
# $z_i = c\, e_i + \sqrt{1-c^2}\, e_{N+i}$ in $\mathbb R^{2N}$. Then $S_{ii} = c/\tau$,
# $S_{ij} = 0$, and
#
# $$l^{\text{infonce}} = \log(e^{c/\tau} + N-1) - c/\tau,\quad
#   l^{\text{paper}} = \log(N-1) + \log(1 + e^{-c/\tau}),\quad
#   l^{\text{official}} = \log(e^{c/\tau} + 2(N-1)) - c/\tau.$$
#
# The **pull** on the positive is $-\mathrm dL/\mathrm dc$, obtained from the library's backward by
# the chain rule, $\mathrm dL/\mathrm dc = \sum_i \langle \partial L/\partial z_i, \partial z_i/\partial c\rangle$
# with $\partial z_i/\partial c = e_i - \tfrac{c}{\sqrt{1-c^2}}e_{N+i}$.

# %%
def orthogonal_batch(c, n):
    """Anchors e_i and augmented points c e_i + sqrt(1-c^2) e_{n+i}: positives at cosine c, negatives at 0."""
    eye = np.eye(2 * n)
    anchor = eye[:n]
    aug = c * eye[:n] + np.sqrt(1 - c * c) * eye[n:]
    daug_dc = eye[:n] - c / np.sqrt(1 - c * c) * eye[n:]
    return anchor, aug, daug_dc


cs = np.linspace(-0.99, 0.99, 199)


def sweep(tau):
    """Per variant, (loss, pull) at every positive similarity in cs."""
    out = {v: np.zeros((len(cs), 2)) for v in VARIANTS}
    for k, c in enumerate(cs):
        anchor, aug, daug_dc = orthogonal_batch(c, N)
        for v in VARIANTS:
            loss, cache = ura_loss_forward(anchor, aug, tau=tau, variant=v)
            _, d_aug = ura_loss_backward(1.0, cache)
            out[v][k] = loss, -np.sum(d_aug * daug_dc)
    return out


curve, curve_cold = sweep(TAU), sweep(0.1)
ratio = curve["paper"][:, 1] / curve["infonce"][:, 1]
ratio_cold = curve_cold["paper"][:, 1] / curve_cold["infonce"][:, 1]
rho_closed = (np.exp(cs / TAU) + N - 1) / ((N - 1) * (np.exp(cs / TAU) + 1))

fig, ax = plt.subplots(1, 3, figsize=(12, 3.6))
for v, style in zip(VARIANTS, ("-", "--", ":")):
    ax[0].plot(cs, curve[v][:, 0], style, lw=2, label=v)
    ax[1].plot(cs, curve[v][:, 1], style, lw=2, label=v)
ax[0].axhline(np.log(N - 1), color="grey", lw=1)
ax[0].text(-0.95, np.log(N - 1) - 0.3, r"floor $\log(N-1)$", color="grey")
ax[0].set(xlabel=r"positive similarity $c = \cos(\tilde z_i, z_i)$", ylabel=r"$L_{URA}$ (one modality)",
          title=f"loss (N={N}, tau={TAU}, negatives at 0)")
ax[1].set(xlabel=r"positive similarity $c$", ylabel=r"pull on the positive, $-\mathrm{d}L/\mathrm{d}c$",
          yscale="log", title=f"gradient on the positive (tau={TAU})")
ax[0].legend()
ax[2].plot(cs, ratio, lw=2, label=f"tau = {TAU}")
ax[2].plot(cs, ratio_cold, lw=2, label="tau = 0.1")
ax[2].plot(cs, rho_closed, "k:", lw=1, label=r"$\rho$ (closed form, tau = 0.5)")
ax[2].axhline(1 / (N - 1), color="grey", lw=1)
ax[2].text(-0.95, 1 / (N - 1) + 0.03, r"$1/(N-1)$", color="grey")
ax[2].set(xlabel=r"positive similarity $c$", ylabel="pull: paper / infonce", ylim=(0, 1.05),
          title="how much the paper's denominator shrinks it")
ax[2].legend(fontsize=8, loc="upper right")
plt.tight_layout()
plt.show()
i9 = int(np.argmin(np.abs(cs - 0.9)))
print(f"at c = {cs[i9]:.2f}: pull paper / infonce = {ratio[i9]:.3f} (tau = {TAU}), "
      f"{ratio_cold[i9]:.3f} (tau = 0.1); 1/(N-1) = {1 / (N - 1):.3f}")

# %% [markdown]
# All three losses fall as the positive similarity rises, but differently: InfoNCE heads to 0,
# the paper's loss flattens onto its floor $\log(N-1)$, and the official loss sits above
# InfoNCE because every negative counts twice (and its minimum is therefore higher). In the
# middle and on the right, the paper's pull is $\rho$ times InfoNCE's: nearly equal when the
# positive is far from aligned ($c \to -1$, $\rho \to 1$), shrinking as the pair aligns. How far it
# shrinks depends on the temperature: $\rho \to 1/(N-1)$ needs $e^{S_{ii}} \gg \sum_{j\ne i} e^{S_{ij}}$, but
# $S_{ii} \le 1/\tau$, so at the released $\tau = 0.5$ (with $N = 8$) even a perfectly aligned pair keeps
# the $\rho$ printed above, well above $1/(N-1)$; at $\tau = 0.1$ the pull of an aligned pair is cut to about $1/(N-1)$.
# With larger batches $N$ the effect grows: the floor $\log(N-1)$ rises and the
# pull can shrink further.
#
# ### A hand example
#
# $N = 3$ with every cosine 0 (exercise 03.2): $l^{\text{infonce}} = \log 3$, $l^{\text{paper}} = \log 4$,
# $l^{\text{official}} = \log 5$. And with positives aligned ($c = 1$, $\tau = 0.5$, so $S_{ii} = 2$):
# $l^{\text{infonce}} = \log(e^2 + 2) - 2$, $l^{\text{paper}} = \log 2 + \log(1 + e^{-2})$,
# $l^{\text{official}} = \log(e^2 + 4) - 2$ (their values are printed below).

# %%
eye6 = np.eye(6)
hand_zero = {v: float(ura_loss_forward(eye6[:3], eye6[3:], tau=0.5, variant=v)[0]) for v in VARIANTS}
hand_one = {v: float(ura_loss_forward(eye6[:3], eye6[:3], tau=0.5, variant=v)[0]) for v in VARIANTS}
expect_zero = {"infonce": np.log(3), "paper": np.log(4), "official": np.log(5)}
expect_one = {"infonce": np.log(np.e ** 2 + 2) - 2, "paper": np.log(2) + np.log(1 + np.e ** -2),
              "official": np.log(np.e ** 2 + 4) - 2}
for v in VARIANTS:
    print(f"{v:9s} all cosines 0: {hand_zero[v]:.4f} (expect {expect_zero[v]:.4f});  "
          f"positives aligned: {hand_one[v]:.4f} (expect {expect_one[v]:.4f})")

# %% [markdown]
# ## What the notebook showed — checked
#
# * the paper's variant never goes below $\log(N-1)$ (on the learned batch, along the whole sweep,
#   and at the hand example);
# * the hand examples give $\log 3$, $\log 4$, $\log 5$ and the aligned values above;
# * the paper's loss is InfoNCE plus $\operatorname{mean}_i(-\log\rho_i)$, and its anchor gradient is
#   exactly $\rho_i$ times InfoNCE's; the pull on an aligned positive shrinks towards $1/(N-1)$ of
#   InfoNCE's (reached at $\tau = 0.1$; at $\tau = 0.5$ with $N = 8$ it stops at the value printed in section 4);
# * along the sweep every variant's loss falls as the positive similarity rises.

# %%
assert values["paper"] >= np.log(N - 1) and np.all(curve["paper"][:, 0] >= np.log(N - 1) - 1e-12)
assert values["infonce"] < values["paper"]
for v in VARIANTS:
    assert abs(hand_zero[v] - expect_zero[v]) < 1e-9 and abs(hand_one[v] - expect_one[v]) < 1e-9, v
    assert np.all(np.diff(curve[v][:, 0]) < 0), v                      # loss falls as c rises
assert abs(loss_gap - np.mean(-np.log(rho))) < 1e-10
assert grad_relation_err < 1e-10
assert np.all(ratio <= 1 + 1e-9) and ratio[0] > 0.85 and np.all(np.diff(ratio) < 0)
assert rel_error(ratio, rho_closed) < 1e-9                              # the pull ratio is rho
assert ratio_cold[-1] < 1.05 / (N - 1) and ratio[-1] < 2 / (N - 1)    # shrunk towards 1/(N-1)
print("all checks passed")
