r"""The EAU model: encoders, Gaussian heads, SUFA, RMFI and the VIB head (SPEC §1–§8).

One forward pass, for a batch of :math:`N` samples with :math:`M` modalities:

1. **Encoders** (SPEC §1): :math:`h^m = g_m(x^m)`, an MLP per modality.
2. **Gaussian heads** (SPEC §2): :math:`(\mu^m, s^m)` with :math:`s` bounded.
3. **SUFA** (SPEC §3–§5): an anchor :math:`\tilde z^m = \mu^m + e^{s^m/2}\varepsilon_1`
   and an augmented point :math:`z^m = \mu^m + e^{s^m/2}\varepsilon_2` per
   sample; :math:`L_{\text{URA}}` contrasts them, :math:`L_{\text{UDR}}`
   aligns the modalities' Gaussians and keeps them near the prior.
4. **RMFI** (SPEC §6–§7): the means are fused with uncertainty weights,
   :math:`\hat x = \sum_m \alpha^m \mu^m`, and compressed by the VIB, whose
   decoder gives the class logits.
5. Optionally (SPEC §8) an auxiliary classifier per modality on the sampled
   :math:`z^m`, which gives each variance head a direct training signal.

.. math::
    L = L_{\text{VIB}} + \lambda_{\text{udr}} L_{\text{UDR}} + \lambda_{\text{ura}} L_{\text{URA}}
        + \lambda_{\text{uni}} \sum_m \mathrm{CE}(y, \text{head}_m(z^m))

The loss is a pure function of ``(params, batch, draws)`` — every random
number (noise ``eps``, dropout masks) is in ``draws`` — so its hand-composed
backward can be checked against autograd end to end (registered as
``eau_model`` in ``python -m mini_eau gradcheck``).

The backward is the forward read backwards: each block's ``*_backward`` is
called in reverse order and gradients that reach the same array from two
places (the means feed SUFA, L_UDR and the fusion) are added.
"""
from __future__ import annotations

import copy
import numbers
from dataclasses import asdict, dataclass, field

import numpy as np

from .backend import get_array_module
from .contrastive import VARIANTS as URA_VARIANTS, ura_loss_total_backward, ura_loss_total_forward
from .fusion import VARIANTS as FUSION_VARIANTS, fuse_backward, fuse_forward, modality_uncertainty, uncertainty_weights
from .encoders import ACTIVATIONS, draw_masks, encode_modalities, encode_modalities_backward, init_encoder
from .gaussian import (VARIANCE_INPUTS, gaussian_head_backward, gaussian_head_forward, head_statistics, sample_backward,
                       sample_forward)
from .gradcheck import Case, positional_loss, register
from .kl import udr_loss_backward, udr_loss_forward
from .layers import linear_backward, linear_forward, softmax, softmax_cross_entropy_backward, softmax_cross_entropy_forward
from .validation import KEEP_PROB, Choice, Integer, Real, accepts, check_array, check_inputs, check_labels, unbox
from .vib import vib_loss_backward, vib_loss_forward, vib_predict

__all__ = ["EAUConfig", "EAU"]


# specs of the model's methods: the batch is checked against the model it meets
def _batch(name, xs, call):
    check_inputs(xs, input_dims=call.args["self"].input_dims)
    call.dims["N"] = xs[0].shape[0]


def _params(name, params, call):
    """The names and shapes of ``model.init_params`` (values are the model's own: not scanned)."""
    want, params = call.args["self"].param_shapes(), unbox(params)  # autograd hands in a DictBox
    if isinstance(params, dict) and {k: tuple(getattr(v, "shape", ())) for k, v in params.items()} == want:
        return  # the usual case, in one comparison; below, which one is wrong
    if not isinstance(params, dict) or set(params) != set(want):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"{name}: expected the parameters of model.init_params, {sorted(want)}; got {got}")
    for k, shape in want.items():
        check_array(f"{name}[{k!r}]", params[k], shape=shape, finite=False)


def _with_vib(name, model, call):
    if not model.config.vib:
        raise ValueError("vib_code: this model was built with vib=False (no bottleneck)")


def _labels(name, y, call):
    check_labels(name, y, call.dims["N"], call.args["self"].n_classes)


def _draws(name, draws, call):
    """The dict ``model.draw(n, rng)`` returns."""
    c = call.args["self"].config
    need = ["eps1", "eps2"] + (["eps_f"] if c.vib else []) + (["masks"] if c.keep_prob < 1.0 else [])
    if not isinstance(draws, dict):
        raise TypeError(f"{name}: expected the dict returned by model.draw(n, rng), got {type(draws).__name__}")
    if [k for k in need if k not in draws]:
        raise ValueError(f"{name}: missing {[k for k in need if k not in draws]}; expected the dict returned by model.draw(n, rng)")


def _stats(name, stats, call):
    """The dict ``trained.stats`` (``model.init_stats()`` updated by the training loop); None for a head without it."""
    want = call.args["self"].stats_shapes()
    if not want:
        if stats:
            raise ValueError(f"{name}: this model keeps no statistics (variance_head='raw'); pass None")
        return
    if stats is None:
        raise ValueError(f"{name}: this model standardises h before its variance heads (variance_head="
                         f"{call.args['self'].config.variance_head!r}); pass the "
                         "running statistics the training loop kept (trained.stats), or use the Trained object's methods")
    if not isinstance(stats, dict) or set(stats) != set(want):
        got = sorted(stats) if isinstance(stats, dict) else type(stats).__name__
        raise ValueError(f"{name}: expected the statistics of model.init_stats(), {sorted(want)}; got {got}")
    for k, shape in want.items():
        check_array(f"{name}[{k!r}]", stats[k], shape=shape)


# --------------------------------------------------------------------- model
def _layer_sizes(name, hidden, call):
    if isinstance(hidden, numbers.Integral) or not hidden or not all(
            isinstance(h, numbers.Integral) and h >= 1 for h in hidden):
        raise ValueError(f"{name}: expected a tuple of positive integers (one per layer), got {hidden!r}")


_CONFIG_SPECS = dict(hidden=_layer_sizes, d_embed=Integer(1), d_bottleneck=Integer(1), activation=Choice(ACTIVATIONS),
                     keep_prob=KEEP_PROB, fusion=Choice(FUSION_VARIANTS), temperature=Real(), tau=Real(),
                     ura_variant=Choice(URA_VARIANTS), variance_head=Choice(VARIANCE_INPUTS),
                     **dict.fromkeys(("lambda_udr", "lambda_align", "lambda_prior", "lambda_ura", "lambda_uni", "beta"),
                                     Real(">=0")))


@dataclass
class EAUConfig:
    """Every modelling choice of EAU in one place (defaults: see README, "Choosing the defaults").

    Attributes
    ----------
    hidden : tuple of int
        Encoder hidden sizes (per modality).
    d_embed : int
        Size D of each modality's Gaussian embedding.
    d_bottleneck : int
        Size of the VIB code :math:`z_f`.
    activation : "relu" or "tanh"
    keep_prob : float
        Encoder dropout keep probability (1 = no dropout).
    fusion : str
        Fusion weighting variant (SPEC §6).
    temperature : float
        Fusion softmax temperature T.
    tau : float
        L_URA temperature.
    ura_variant : str
        "paper", "infonce" or "official" (SPEC §5).
    variance_head : str
        What the variance heads read (SPEC §2): "raw" h itself, as the paper
        writes the head (the default); "standardised" the standardised
        features (batch statistics in training, running ones in
        prediction); "deviation" the squared standardised features minus 1,
        the head for training without noise (the paper's protocol; docs,
        protocols page).
    lambda_udr, lambda_align, lambda_prior : float
        Weight of L_UDR and of its two parts (SPEC §4).
    lambda_ura : float
        Weight of L_URA.
    lambda_uni : float
        Weight of the auxiliary per-modality classifiers (0 = not built).
    beta : float
        VIB weight (SPEC §7).
    vib : bool
        False replaces the VIB by a deterministic linear classifier (ablation).
    """

    hidden: tuple = (64,)
    d_embed: int = 8
    d_bottleneck: int = 8
    activation: str = "relu"
    keep_prob: float = 0.8
    fusion: str = "paper"
    temperature: float = 0.1
    tau: float = 0.5
    ura_variant: str = "paper"
    variance_head: str = "raw"
    lambda_udr: float = 1e-3
    lambda_align: float = 1.0
    lambda_prior: float = 1.0
    lambda_ura: float = 0.1
    lambda_uni: float = 0.0
    beta: float = 1e-3
    vib: bool = True

    def __post_init__(self):
        for name, spec in _CONFIG_SPECS.items():
            spec(name, getattr(self, name), None)
        self.hidden = tuple(int(h) for h in self.hidden)

    def to_dict(self):
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


@dataclass
class EAU:
    """EAU for M-modality classification.

    ``params`` is a plain dict name -> array (see :meth:`init_params`); the
    model object only holds sizes and the configuration.
    """

    input_dims: tuple
    n_classes: int
    config: EAUConfig = field(default_factory=EAUConfig)
    name: str = "eau"

    def __post_init__(self):
        if not isinstance(self.config, EAUConfig):
            raise TypeError(f"config: expected an EAUConfig (e.g. EAUConfig(**d) for a dict d), got {type(self.config).__name__}")
        if isinstance(self.input_dims, (str, bytes, numbers.Number)) or not all(
                isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in self.input_dims):
            raise TypeError(f"input_dims: expected a list of integers (one input size per modality), got {self.input_dims!r}")
        self.input_dims = tuple(int(d) for d in self.input_dims)
        if len(self.input_dims) < 2 or min(self.input_dims) < 1:
            raise ValueError(f"input_dims: expected a positive size per modality for M >= 2 modalities, got {self.input_dims}")
        Integer(2)("n_classes", self.n_classes, None)

    @property
    def M(self):
        return len(self.input_dims)

    # -------------------------------------------------------------- params
    def init_params(self, rng, dtype=np.float64):
        """Fresh parameters from the generator ``rng`` (He init, zero biases)."""
        c, D, K = self.config, self.config.d_embed, self.n_classes
        p = {}
        for m, d_in in enumerate(self.input_dims):
            p.update(init_encoder(rng, d_in, c.hidden, f"enc{m}", dtype))
            H = c.hidden[-1]
            p[f"head{m}.W_mu"] = (rng.standard_normal((H, D)) / np.sqrt(H)).astype(dtype)
            p[f"head{m}.b_mu"] = np.zeros(D, dtype=dtype)
            # small weights: every log-variance starts near 0 (sigma ~ 1, the prior)
            p[f"head{m}.W_s"] = (0.01 * rng.standard_normal((H, D))).astype(dtype)
            p[f"head{m}.b_s"] = np.zeros(D, dtype=dtype)
            if c.lambda_uni > 0:
                p[f"aux{m}.W"] = (rng.standard_normal((D, K)) / np.sqrt(D)).astype(dtype)
                p[f"aux{m}.b"] = np.zeros(K, dtype=dtype)
        if c.vib:
            Z = c.d_bottleneck
            p["vib.W_mu"] = (rng.standard_normal((D, Z)) / np.sqrt(D)).astype(dtype)
            p["vib.b_mu"] = np.zeros(Z, dtype=dtype)
            p["vib.W_s"] = (0.01 * rng.standard_normal((D, Z))).astype(dtype)
            p["vib.b_s"] = np.zeros(Z, dtype=dtype)
            p["vib.W_out"] = (rng.standard_normal((Z, K)) / np.sqrt(Z)).astype(dtype)
            p["vib.b_out"] = np.zeros(K, dtype=dtype)
        else:
            p["cls.W"] = (rng.standard_normal((D, K)) / np.sqrt(D)).astype(dtype)
            p["cls.b"] = np.zeros(K, dtype=dtype)
        return p

    def param_shapes(self):
        """Name -> shape of :meth:`init_params`' arrays, in its order (kept once per configuration)."""
        if getattr(self, "_shapes", (None,))[0] != self.config:
            c, D, K, Z = self.config, self.config.d_embed, self.n_classes, self.config.d_bottleneck
            H, shapes = c.hidden[-1], {}
            for m, d_in in enumerate(self.input_dims):
                for l, (d, h) in enumerate(zip((d_in, *c.hidden[:-1]), c.hidden)):
                    shapes.update({f"enc{m}.W{l}": (d, h), f"enc{m}.b{l}": (h,)})
                shapes.update({f"head{m}.W_mu": (H, D), f"head{m}.b_mu": (D,), f"head{m}.W_s": (H, D), f"head{m}.b_s": (D,)})
                if c.lambda_uni > 0:
                    shapes.update({f"aux{m}.W": (D, K), f"aux{m}.b": (K,)})
            if c.vib:
                shapes.update({"vib.W_mu": (D, Z), "vib.b_mu": (Z,), "vib.W_s": (D, Z), "vib.b_s": (Z,),
                               "vib.W_out": (Z, K), "vib.b_out": (K,)})
            else:
                shapes.update({"cls.W": (D, K), "cls.b": (K,)})
            self._shapes = (copy.copy(self.config), shapes)  # a copy: a config changed in place is seen
        return self._shapes[1]

    def init_stats(self, xp=np, dtype=np.float64):
        """Running statistics of what each variance head standardises (SPEC §2): mean 0, variance 1 to start.

        ``{"head{m}.h_mean", "head{m}.h_var"}`` (H,) per modality, ``{}`` for the raw head.  Not parameters:
        :func:`mini_eau.lab.train.fit` averages each step's batch statistics into them, and prediction
        takes them as an argument, as it takes dropout masks."""
        return {k: (xp.zeros if k.endswith("mean") else xp.ones)(shape, dtype=dtype)
                for k, shape in self.stats_shapes().items()}

    def stats_shapes(self):
        """Name -> shape of :meth:`init_stats`' arrays."""
        if self.config.variance_head == "raw":
            return {}
        H = self.config.hidden[-1]
        return {f"head{m}.{k}": (H,) for m in range(self.M) for k in ("h_mean", "h_var")}

    def draw(self, n, rng, xp=np, dtype=np.float64):
        """Every random number one training step needs, drawn from ``rng``.

        ``eps1``/``eps2``: anchor and augmented noise (M, N, D); ``eps_f``:
        VIB noise (N, Z); ``masks``: per modality, per layer keep-masks.
        ``rng`` is a generator of the backend (see
        :func:`mini_eau.backend.noise_generator`), so on a GPU the noise is
        drawn on the device; ``xp.asarray`` is then a no-op.
        """
        c = self.config
        shape = (self.M, n, c.d_embed)
        d = {"eps1": xp.asarray(rng.standard_normal(shape), dtype=dtype),
             "eps2": xp.asarray(rng.standard_normal(shape), dtype=dtype)}
        if c.vib:
            d["eps_f"] = xp.asarray(rng.standard_normal((n, c.d_bottleneck)), dtype=dtype)
        if c.keep_prob < 1.0:
            d["masks"] = draw_masks(rng, n, c.hidden, self.M, c.keep_prob, xp, dtype)
        return d

    # ------------------------------------------------------------ the loss
    def _encode(self, params, xs, masks, stats=None):
        """Encoders and heads; ``stats`` None: training (each head standardises with its batch's statistics)."""
        hs, enc_caches = encode_modalities(params, xs, self.config, masks)
        mus, ss, head_caches = [], [], []
        for m in range(self.M):
            running = {} if not stats else {"h_mean": stats[f"head{m}.h_mean"], "h_var": stats[f"head{m}.h_var"]}
            (mu, s), c_head = gaussian_head_forward(hs[m], params[f"head{m}.W_mu"], params[f"head{m}.b_mu"],
                                                    params[f"head{m}.W_s"], params[f"head{m}.b_s"],
                                                    variance_input=self.config.variance_head, **running)
            mus.append(mu)
            ss.append(s)
            head_caches.append(c_head)
        xp = get_array_module(*mus, *ss)
        return xp.stack(mus), xp.stack(ss), (enc_caches, head_caches)

    @accepts(params=_params, xs=_batch, y=_labels, draws=_draws)
    def loss_forward(self, params, xs, y, draws):
        r"""Total loss and its terms; a pure function of its arguments.

        Returns ``(loss, cache)``; ``cache["terms"]`` holds every term
        (``vib``, ``udr``, ``ura``, ``uni``) *unweighted*, as arrays (no
        host copy: the trainer copies them back once per epoch), and
        ``cache["batch_stats"]`` the batch's statistics of h, named as in
        :meth:`init_stats` (the variance heads standardise with them).
        """
        c = self.config
        mus, ss, enc_caches = self._encode(params, xs, draws.get("masks"))
        terms, caches = {}, {"enc": enc_caches, "batch_stats": {}}
        for m, c_head in enumerate(enc_caches[1]):  # a standardising head's batch statistics (none for the raw head)
            if (stats := head_statistics(c_head)) is not None:
                caches["batch_stats"].update({f"head{m}.h_mean": stats[0], f"head{m}.h_var": stats[1]})
        total = 0.0
        # SUFA: anchor and augmented samples, contrastive L_URA (SPEC §3, §5)
        if c.lambda_ura > 0 or c.lambda_uni > 0:
            anchors, caches["anchor"] = sample_forward(mus, ss, draws["eps1"])
            augs, caches["aug"] = sample_forward(mus, ss, draws["eps2"])
        if c.lambda_ura > 0:
            terms["ura"], caches["ura"] = ura_loss_total_forward(anchors, augs, tau=c.tau, variant=c.ura_variant)
            total = total + c.lambda_ura * terms["ura"]
        # SUFA: distribution alignment L_UDR (SPEC §4)
        if c.lambda_udr > 0:
            terms["udr"], caches["udr"] = udr_loss_forward(mus, ss, c.lambda_align, c.lambda_prior)
            total = total + c.lambda_udr * terms["udr"]
        # optional per-modality classifiers on the augmented samples (SPEC §8)
        if c.lambda_uni > 0:
            uni, uni_caches = 0.0, []
            for m in range(self.M):
                logits, c_lin = linear_forward(augs[m], params[f"aux{m}.W"], params[f"aux{m}.b"])
                ce, c_ce = softmax_cross_entropy_forward(logits, y)
                uni = uni + ce
                uni_caches.append((c_lin, c_ce))
            caches["uni"] = uni_caches
            terms["uni"] = uni
            total = total + c.lambda_uni * uni
        # RMFI: uncertainty-weighted fusion of the means (SPEC §6)
        fused, caches["fuse"] = fuse_forward(mus, ss, temperature=c.temperature, variant=c.fusion)
        # RMFI: compression and task loss (SPEC §7)
        if c.vib:
            task, caches["vib"] = _vib_forward(fused, params, draws["eps_f"], y, c.beta)
        else:
            logits, c_lin = linear_forward(fused, params["cls.W"], params["cls.b"])
            task, c_ce = softmax_cross_entropy_forward(logits, y)
            caches["cls"] = (c_lin, c_ce)
        terms["vib"] = task
        total = total + task
        caches["terms"] = terms
        return total, caches

    def loss_backward(self, dout, cache):
        """Gradients of :meth:`loss_forward`'s loss: a dict with the names of ``params``."""
        c = self.config
        grads = {}
        # RMFI
        if c.vib:
            dfused = _vib_backward(dout, cache["vib"], grads)
        else:
            c_lin, c_ce = cache["cls"]
            dfused, grads["cls.W"], grads["cls.b"] = linear_backward(softmax_cross_entropy_backward(dout, c_ce), c_lin)
        dmus, dss = fuse_backward(dfused, cache["fuse"])
        # SUFA: the samples
        if c.lambda_ura > 0 or c.lambda_uni > 0:
            xp = get_array_module(dmus)
            danchors, daugs = xp.zeros_like(dmus), xp.zeros_like(dmus)
            if c.lambda_uni > 0:
                for m, (c_lin, c_ce) in enumerate(cache["uni"]):
                    dlogits = softmax_cross_entropy_backward(c.lambda_uni * dout, c_ce)
                    dz, grads[f"aux{m}.W"], grads[f"aux{m}.b"] = linear_backward(dlogits, c_lin)
                    daugs[m] += dz
            if c.lambda_ura > 0:
                da, dg = ura_loss_total_backward(c.lambda_ura * dout, cache["ura"])
                danchors += da
                daugs += dg
            dmu_a, ds_a = sample_backward(danchors, cache["anchor"])
            dmu_g, ds_g = sample_backward(daugs, cache["aug"])
            dmus = dmus + dmu_a + dmu_g
            dss = dss + ds_a + ds_g
        if c.lambda_udr > 0:
            dmu_u, ds_u = udr_loss_backward(c.lambda_udr * dout, cache["udr"])
            dmus = dmus + dmu_u
            dss = dss + ds_u
        # heads, then encoders, per modality
        enc_caches, head_caches = cache["enc"]
        dhs = {}
        for m, c_head in enumerate(head_caches):
            dhs[m], *g_head = gaussian_head_backward((dmus[m], dss[m]), c_head)
            for k, g in zip(("W_mu", "b_mu", "W_s", "b_s"), g_head):
                grads[f"head{m}.{k}"] = g
        encode_modalities_backward(dhs, enc_caches, grads)
        return grads

    # ---------------------------------------------------------- prediction
    # Prediction takes the running statistics ``stats`` (trained.stats) as it takes
    # dropout masks: each sample's output depends on that sample alone.
    @accepts(params=_params, xs=_batch, stats=_stats)
    def embed(self, params, xs, masks=None, stats=None):
        """Means and log-variances ``(mus, ss)``, stacks (M, N, D); dropout only with ``masks`` (MC dropout, SPEC §9)."""
        mus, ss, _ = self._encode(params, xs, masks, stats)
        return mus, ss

    @accepts(params=_params, xs=_batch, stats=_stats)
    def fuse(self, params, xs, masks=None, stats=None):
        r"""The fused representation :math:`\hat x = \sum_m \alpha^m \mu^m` (N, D) (SPEC §6)."""
        c = self.config
        return fuse_forward(*self.embed(params, xs, masks, stats), temperature=c.temperature, variant=c.fusion)[0]

    @accepts(self=_with_vib, params=_params, xs=_batch, stats=_stats)
    def vib_code(self, params, xs, masks=None, stats=None):
        r"""The VIB code's Gaussian :math:`(\mu_f, s_f)`, each (N, Z) (SPEC §7); its KL to the prior is the rate."""
        (mu_f, s_f), _ = gaussian_head_forward(self.fuse(params, xs, masks, stats), *(params[k] for k in _VIB_NAMES[:4]))
        return mu_f, s_f

    @accepts(params=_params, xs=_batch, stats=_stats)
    def predict_proba(self, params, xs, masks=None, stats=None):
        r"""Class probabilities from the fused means: :func:`~mini_eau.vib.vib_predict`, i.e. :math:`\text{dec}(\mu_f)` (SPEC §7).

        ``masks`` (as in :meth:`draw`) switches the encoders' dropout on: one MC-dropout pass (SPEC §9).
        """
        fused = self.fuse(params, xs, masks, stats)
        if self.config.vib:
            return vib_predict(fused, *(params[k] for k in _VIB_NAMES))
        return softmax(linear_forward(fused, params["cls.W"], params["cls.b"])[0], axis=1)

    @accepts(params=_params, xs=_batch, stats=_stats)
    def uncertainty(self, params, xs, stats=None):
        r"""Per-sample, per-modality aleatoric uncertainty :math:`u_i^m = \text{mean}_d\, \sigma_{i,d}^m` (M, N)."""
        return modality_uncertainty(self.embed(params, xs, stats=stats)[1])

    @accepts(params=_params, xs=_batch, stats=_stats)
    def fusion_weights(self, params, xs, stats=None):
        """The fusion weights (M, N), averaged over dimensions for per-dimension variants."""
        c = self.config
        w = uncertainty_weights(self.embed(params, xs, stats=stats)[1], temperature=c.temperature, variant=c.fusion)
        return w if w.ndim == 2 else w.mean(axis=2)


# ------------------------------------------------------------- the VIB head
_VIB_NAMES = ("vib.W_mu", "vib.b_mu", "vib.W_s", "vib.b_s", "vib.W_out", "vib.b_out")


def _vib_forward(fused, params, eps_f, y, beta):
    """The VIB head on the fused representation (SPEC §7): :func:`mini_eau.vib.vib_loss_forward`."""
    return vib_loss_forward(fused, *(params[k] for k in _VIB_NAMES), eps_f, y, beta=beta)


def _vib_backward(dout, cache, grads):
    """Writes the VIB parameters' gradients into ``grads``; returns d(fused)."""
    dfused, *g = vib_loss_backward(dout, cache)
    grads.update(zip(_VIB_NAMES, g))
    return dfused


# ----------------------------------------------------------- gradient check
@register("eau_model")
def _eau_cases(rng):
    cases = []
    configs = [
        ((5, 4), 3, EAUConfig(hidden=(6,), d_embed=3, d_bottleneck=2, lambda_uni=0.5, variance_head="deviation"), 4),
        ((3, 4, 2), 2, EAUConfig(hidden=(5, 4), d_embed=2, d_bottleneck=3, activation="tanh", keep_prob=0.8,
                                 fusion="per_dim", ura_variant="official", lambda_uni=0.3), 2),
        ((4, 3), 3, EAUConfig(hidden=(5,), d_embed=3, vib=False, fusion="precision", ura_variant="infonce",
                              temperature=2.0, variance_head="standardised"), 3),
    ]
    for dims, k, cfg, n in configs:
        model = EAU(dims, k, cfg)
        params = model.init_params(rng)
        # move the log-variance heads off their small init so every path is exercised
        params.update({k_: rng.standard_normal(v.shape) * 0.5 for k_, v in params.items() if k_.endswith("W_s")})
        xs, y = [rng.standard_normal((n, d)) for d in dims], rng.integers(0, k, n)
        draws, names = model.draw(n, rng), sorted(params)
        fwd, bwd = positional_loss(model, names, xs, y, draws)
        fwd.__name__ = "eau_loss_forward"
        cases.append(Case(fwd, bwd, [params[k_] for k_ in names], label=f"M={len(dims)},N={n},{cfg.fusion}",
                          fd_entries=6, names=names))
    return cases
