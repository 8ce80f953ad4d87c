"""Models with per-layer features. Deep linear nets are `MLP(activation="linear")`.

Layer convention used everywhere in the book: `depth` = L counts the weight matrices, classifier
included (Wang et al.'s L). `features(x)` returns L + 1 tensors: l = 0 is the input, l = 1..L-1 the
hidden representations (after the nonlinearity), l = L the network output (`model(x)`).
"""
from __future__ import annotations

import contextlib
import math
from typing import Sequence

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "linear": nn.Identity,
}
INITS = ("torch", "he", "lecun", "orthogonal")
PARAMETRIZATIONS = ("standard", "ntk")


class ModelError(ValueError):
    """A model was asked for with arguments it cannot be built from."""


class MLP(nn.Module):
    """A fully connected network with `depth` weight layers and per-layer features.

    Args:
        in_dim, width, out_dim: input, hidden and output sizes.
        depth: number of weight matrices L (>= 1); depth 1 is a linear model.
        activation: "relu" | "tanh" | "gelu" | "linear" for the nonlinear hidden layers.
        bias: whether every layer has a bias (zero at init except with init="torch").
        init: "torch" (PyTorch's default), "he" (N(0, 2/fan_in)), "lecun" (N(0, 1/fan_in)) or
            "orthogonal" (Wang et al.: Haar semi-orthogonal W_1, orthogonal hidden layers,
            W_L = [Q_K, 0]); every init is multiplied by `init_scale`.
        parametrization: "standard" (z = W h + b) or "ntk" (z = init_scale * sqrt(c/fan_in) W h + b
            with W ~ N(0, 1) and c = 2 for ReLU else 1).
        nonlinear_layers: how many leading hidden layers apply `activation` (None = all); the rest
            are linear (the hybrid net of Wang et al. Figs 1 and 5).
        batchnorm: BatchNorm1d after the linear map of every nonlinear hidden layer.
        output_scale: the output multiplier alpha, `model(x) = alpha * W_L h_{L-1}`.
        seed: seeds the initialisation (a private generator; global RNG untouched).
    """

    def __init__(self, in_dim: int, width: int, depth: int, out_dim: int, *, activation: str = "relu",
                 bias: bool = True, init: str = "he", init_scale: float = 1.0,
                 parametrization: str = "standard", nonlinear_layers: int | None = None,
                 batchnorm: bool = False, output_scale: float = 1.0, seed: int = 0):
        super().__init__()
        _check_args(in_dim, width, depth, out_dim, activation, init, parametrization, nonlinear_layers)
        self.depth, self.activation_name, self.init, self.parametrization = depth, activation, init, parametrization
        self.output_scale = float(output_scale)
        dims = [in_dim] + [width] * (depth - 1) + [out_dim]
        self.dims, self.out_dim = dims, out_dim
        self.layers = nn.ModuleList(nn.Linear(dims[i], dims[i + 1], bias=bias) for i in range(depth))
        n_nonlinear = depth - 1 if nonlinear_layers is None else nonlinear_layers
        self.nonlinear = [i < n_nonlinear for i in range(depth - 1)] + [False]
        act = ACTIVATIONS[activation]
        self.acts = nn.ModuleList(act() if nl else nn.Identity() for nl in self.nonlinear)
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(dims[i + 1]) if (batchnorm and self.nonlinear[i]) else nn.Identity()
            for i in range(depth))
        gain = 2.0 if activation == "relu" else 1.0
        self.weight_multipliers = [
            init_scale * math.sqrt(gain / dims[i]) if parametrization == "ntk" else 1.0 for i in range(depth)]
        self.reset_parameters(init_scale, seed)

    def reset_parameters(self, init_scale: float, seed: int) -> None:
        """Initialise every layer from a private generator seeded with `seed`."""
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for i, layer in enumerate(self.layers):
                w = _init_weight(self, i, init_scale, gen)
                layer.weight.copy_(w)
                if layer.bias is not None:
                    if self.init == "torch" and self.parametrization == "standard":
                        bound = 1 / math.sqrt(self.dims[i])
                        layer.bias.copy_((torch.rand(layer.bias.shape, generator=gen) * 2 - 1) * bound)
                    else:
                        layer.bias.zero_()

    def layer_forward(self, i: int, h: torch.Tensor) -> torch.Tensor:
        """Return layer i's output (0-based) from its input h: act(norm(m_i W_i h + b_i))."""
        layer = self.layers[i]
        z = nn.functional.linear(h, layer.weight * self.weight_multipliers[i], layer.bias)
        z = self.acts[i](self.norms[i](z))
        return z * self.output_scale if i == self.depth - 1 else z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the output (n, out_dim) for inputs (n, in_dim)."""
        for i in range(self.depth):
            x = self.layer_forward(i, x)
        return x

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return [h_0 = x, h_1, ..., h_L = model(x)]: L + 1 tensors of shape (n, d_l), differentiable."""
        out = [x]
        for i in range(self.depth):
            out.append(self.layer_forward(i, out[-1]))
        return out

    def weights(self) -> list[torch.Tensor]:
        """Return the effective weight matrices [W_1, ..., W_L] (multipliers applied), (d_l, d_{l-1})."""
        return [layer.weight * m for layer, m in zip(self.layers, self.weight_multipliers)]


def _check_args(in_dim: int, width: int, depth: int, out_dim: int, activation: str, init: str,
                parametrization: str, nonlinear_layers: int | None) -> None:
    for name, value in (("in_dim", in_dim), ("width", width), ("depth", depth), ("out_dim", out_dim)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ModelError(f"{name} must be an integer >= 1, got {value!r}")
    if activation not in ACTIVATIONS:
        raise ModelError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if init not in INITS:
        raise ModelError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    if parametrization not in PARAMETRIZATIONS:
        raise ModelError(f"parametrization must be one of {', '.join(PARAMETRIZATIONS)}, got {parametrization!r}")
    if nonlinear_layers is not None and not 0 <= nonlinear_layers <= depth - 1:
        raise ModelError(f"nonlinear_layers must be in [0, depth - 1 = {depth - 1}], got {nonlinear_layers}")
    if init == "orthogonal" and depth > 1 and width < out_dim:
        raise ModelError(f"orthogonal init needs width >= out_dim ({out_dim}), got width={width}")


def _init_weight(model: MLP, i: int, scale: float, gen: torch.Generator) -> torch.Tensor:
    """Return the initial weight of layer i (d_out, d_in) for the model's init scheme."""
    d_in, d_out = model.dims[i], model.dims[i + 1]
    if model.parametrization == "ntk":
        return torch.randn(d_out, d_in, generator=gen)
    if model.init == "orthogonal":
        if i == model.depth - 1 and model.depth > 1:  # classifier: [Q_K, 0]
            w = torch.zeros(d_out, d_in)
            w[:, :d_out] = haar_orthogonal(d_out, gen)
            return scale * w
        return scale * semi_orthogonal(d_out, d_in, gen)
    if model.init == "torch":
        bound = 1 / math.sqrt(d_in)  # kaiming_uniform(a=sqrt(5)) reduces to U(-1/sqrt(fan_in), ..)
        return scale * (torch.rand(d_out, d_in, generator=gen) * 2 - 1) * bound
    gain = 2.0 if model.init == "he" else 1.0
    return scale * math.sqrt(gain / d_in) * torch.randn(d_out, d_in, generator=gen)


def haar_orthogonal(n: int, gen: torch.Generator) -> torch.Tensor:
    """Return an (n, n) orthogonal matrix drawn from the Haar measure."""
    return semi_orthogonal(n, n, gen)


def semi_orthogonal(rows: int, cols: int, gen: torch.Generator) -> torch.Tensor:
    """Return a Haar-random (rows, cols) matrix with orthonormal columns (rows >= cols) or rows."""
    tall = rows >= cols
    g = torch.randn((rows, cols) if tall else (cols, rows), generator=gen, dtype=torch.float64)
    q, r = torch.linalg.qr(g)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)  # sign fix makes Q Haar-distributed
    return (q if tall else q.T).to(torch.get_default_dtype())


def count_parameters(model: nn.Module) -> int:
    """Return the number of trainable scalars in `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def hidden_layers(depth: int) -> Sequence[int]:
    """Return the indices l = 1..L-1 of the hidden representations in `features(x)`."""
    return range(1, depth)


# --- chapter 03b models ---


class _LayerStack(nn.Module):
    """A net of four layers applied in order by `layer_forward(i, h)` on flat inputs (the small CNNs):
    forward, per-layer features and weights from that one method."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits (n, n_classes) for flat inputs x (n, d_0)."""
        for i in range(4):
            x = self.layer_forward(i, x)
        return x

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return [x, h_1, h_2, h_3, output], flat (see the class docstring for the shapes)."""
        out = [x]
        for i in range(4):
            out.append(self.layer_forward(i, out[-1]))
        return out

    def weights(self) -> list[torch.Tensor]:
        """Return the three convolution kernels and the linear read-out's weight (see the class docstring)."""
        return [layer.weight for layer in self.layers]


class SmallCNN(_LayerStack):
    """The small CNN of Cha et al.'s `whiten_cnn.py` (note 03, section 5) with per-layer features.

    conv0 -> ReLU -> max-pool 2 -> conv1 -> ReLU -> conv2 -> ReLU -> max-pool 2 -> flatten -> fc.
    Every conv has `channels` filters of 3x3, padding 1, with bias. Inputs arrive flat, (n, C*H*W)
    (the layout of `data.Dataset`), and are reshaped to (n, C, H, W) with `image_shape` = (C, H, W);
    H and W must be divisible by 4.

    `features(x)` returns 5 flat tensors (differentiable), with c = channels:
        [x (n, C*H*W), h_1 (n, c*H/2*W/2), h_2 (n, c*H/2*W/2), h_3 (n, c*H/4*W/4), output (n, n_classes)]
    (h_l after the ReLU and, for l = 1, 3, the pooling). `layers` = [conv0, conv1, conv2, fc]: their
    weights are (c, C, 3, 3), (c, c, 3, 3), (c, c, 3, 3), (n_classes, c*H/4*W/4); the Gram of a
    kernel is taken on its (out, in*3*3) reshape. Initialisation: PyTorch's default from a private
    generator seeded with `seed`.
    """

    def __init__(self, image_shape: Sequence[int], n_classes: int, *, channels: int = 16, seed: int = 0):
        super().__init__()
        c_in, h, w = (int(v) for v in image_shape)
        if h % 4 or w % 4 or min(c_in, h, w, channels, n_classes) < 1:
            raise ModelError(f"image_shape must be (C, H, W) with H, W divisible by 4 and channels, "
                             f"n_classes >= 1; got image_shape={tuple(image_shape)}, channels={channels}, "
                             f"n_classes={n_classes}")
        self.image_shape, self.out_dim, self.depth = (c_in, h, w), n_classes, 4
        with seeded_rng(seed):
            self.convs = nn.ModuleList([nn.Conv2d(c_in, channels, 3, padding=1),
                                        nn.Conv2d(channels, channels, 3, padding=1),
                                        nn.Conv2d(channels, channels, 3, padding=1)])
            self.fc = nn.Linear(channels * (h // 4) * (w // 4), n_classes)
        self.layers = nn.ModuleList([*self.convs, self.fc])
        self._shapes = [(c_in, h, w), (channels, h // 2, w // 2), (channels, h // 2, w // 2)]
        self.weight_multipliers = [1.0] * 4

    def layer_forward(self, i: int, h: torch.Tensor) -> torch.Tensor:
        """Return layer i's flat output (0-based) from its flat input h (n, d_i)."""
        if i == 3:
            return self.fc(h)
        z = torch.relu(self.convs[i](h.reshape(h.shape[0], *self._shapes[i])))
        if i in (0, 2):
            z = nn.functional.max_pool2d(z, 2)
        return z.flatten(1)



class SmallCNN1d(_LayerStack):
    """A small 1-D CNN for sequences such as MNIST-1D (Greydanus 2020), with per-layer features.

    conv0 (kernel 5, padding 2) -> ReLU -> conv1 (kernel 3, padding 1) -> ReLU -> conv2 (kernel 3,
    padding 1) -> ReLU -> flatten -> fc. Every conv has `channels` filters and stride 2, so each
    halves the length (rounding up): a signal of length T gives lengths T1 = ceil(T/2), T2 =
    ceil(T1/2), T3 = ceil(T2/2) (40 -> 20 -> 10 -> 5). Inputs arrive flat, (n, T) (the layout of
    `data.Dataset`, one channel).

    `features(x)` returns 5 flat tensors (differentiable), with c = channels:
        [x (n, T), h_1 (n, c*T1), h_2 (n, c*T2), h_3 (n, c*T3), output (n, n_classes)]
    (h_l after the ReLU). `layers` = [conv0, conv1, conv2, fc]. Initialisation: PyTorch's default
    from a private generator seeded with `seed`. The book's stand-in for the convolutional baseline
    of MNIST-1D (published test accuracy about 94%); the layer sizes are this book's choice.
    """

    def __init__(self, signal_length: int, n_classes: int, *, channels: int = 32, seed: int = 0):
        super().__init__()
        t = int(signal_length)
        if t < 1 or channels < 1 or n_classes < 1:
            raise ModelError(f"signal_length, channels and n_classes must be >= 1; got signal_length="
                             f"{signal_length}, channels={channels}, n_classes={n_classes}")
        lengths = [t]
        for _ in range(3):
            lengths.append((lengths[-1] + 1) // 2)  # stride 2 with "same" padding: ceil(T / 2)
        self.signal_length, self.out_dim, self.depth, self.lengths = t, n_classes, 4, lengths
        with seeded_rng(seed):
            self.convs = nn.ModuleList([nn.Conv1d(1, channels, 5, stride=2, padding=2),
                                        nn.Conv1d(channels, channels, 3, stride=2, padding=1),
                                        nn.Conv1d(channels, channels, 3, stride=2, padding=1)])
            self.fc = nn.Linear(channels * lengths[3], n_classes)
        self.layers = nn.ModuleList([*self.convs, self.fc])
        self._channels = [1, channels, channels]
        self.weight_multipliers = [1.0] * 4

    def layer_forward(self, i: int, h: torch.Tensor) -> torch.Tensor:
        """Return layer i's flat output (0-based) from its flat input h (n, d_i)."""
        if i == 3:
            return self.fc(h)
        z = torch.relu(self.convs[i](h.reshape(h.shape[0], self._channels[i], self.lengths[i])))
        return z.flatten(1)



class VAE(nn.Module):
    """A Gaussian MLP VAE (Kingma and Welling) with per-layer features along the mean path.

    Encoder: `depth` Linear + ReLU layers of `width` from `in_dim`, then two linear heads, the latent
    mean mu (latent_dim) and log-variance. Decoder: the mirror image, `depth` Linear + ReLU layers
    from the latent, then a linear map back to `in_dim` (a Gaussian decoder: squared error).
    In train mode `forward` samples z = mu + exp(logvar / 2) * eps with eps from the model's own
    generator (seeded with `seed`, so training is reproducible) and stores the batch's KL term
    mean_i KL(q(z|x_i) || N(0, I)) in `self.kl` for `train.fit(..., extra_loss=VAE.kl_loss)`. In eval
    mode z = mu.

    `likelihood` is the decoder's: "gaussian" (the last layer is the reconstruction; train with
    `loss="mse"`, squared error) or "bernoulli" (the authors' binary cross-entropy: the last layer gives
    one logit per output, `decode` returns the probabilities sigmoid(logit), and `forward` returns the
    two-class logits (n, 2, in_dim) = [0, logit], so that `train.fit(loss="ce")` on binary targets
    (n, in_dim) computes the mean per-output binary cross-entropy; add `VAE.kl_per_output` to keep the
    ELBO's balance, (sum_j BCE_j + KL) / in_dim).

    `features(x)` (the deterministic mean path, any mode) returns 2 * depth + 3 tensors:
        [x (n, in_dim), e_1..e_depth (n, width), mu (n, latent_dim), d_1..d_depth (n, width),
         reconstruction (n, in_dim)]; `latent_index` = depth + 1 is the position of mu.
    """

    def __init__(self, in_dim: int, *, width: int = 128, depth: int = 2, latent_dim: int = 2, seed: int = 0,
                 likelihood: str = "gaussian"):
        super().__init__()
        if likelihood not in ("gaussian", "bernoulli"):
            raise ModelError(f"likelihood must be 'gaussian' or 'bernoulli', got {likelihood!r}")
        self.likelihood = likelihood
        for name, value in (("in_dim", in_dim), ("width", width), ("depth", depth), ("latent_dim", latent_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ModelError(f"{name} must be an integer >= 1, got {value!r}")
        enc, dec = [in_dim] + [width] * depth, [latent_dim] + [width] * depth
        with seeded_rng(seed):
            self.encoder = nn.ModuleList(nn.Linear(enc[i], enc[i + 1]) for i in range(depth))
            self.mu_head, self.logvar_head = nn.Linear(width, latent_dim), nn.Linear(width, latent_dim)
            self.decoder = nn.ModuleList(nn.Linear(dec[i], dec[i + 1]) for i in range(depth))
            self.out = nn.Linear(width, in_dim)
        self.depth, self.latent_dim, self.out_dim, self.latent_index = depth, latent_dim, in_dim, depth + 1
        self.gen = torch.Generator().manual_seed(seed)
        self.kl = torch.zeros(())

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Return (mu (n, latent_dim), logvar (n, latent_dim), [e_1, ..., e_depth])."""
        hs = []
        for layer in self.encoder:
            x = torch.relu(layer(x))
            hs.append(x)
        return self.mu_head(x), self.logvar_head(x), hs

    def decode(self, z: torch.Tensor, *, hidden: bool = False):
        """Return the reconstruction (n, in_dim) of latents z (n, latent_dim) (and [d_1..] if hidden);
        for a Bernoulli decoder the pixel probabilities."""
        out, hs = self._decode_raw(z)
        if self.likelihood == "bernoulli":
            out = torch.sigmoid(out)
        return (out, hs) if hidden else out

    def _decode_raw(self, z: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        hs = []
        for layer in self.decoder:
            z = torch.relu(layer(z))
            hs.append(z)
        return self.out(z), hs

    def _likelihood_output(self, z: torch.Tensor) -> torch.Tensor:
        out, _ = self._decode_raw(z)
        if self.likelihood == "bernoulli":
            return torch.stack([torch.zeros_like(out), out], 1)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the reconstruction (n, in_dim) (Gaussian) or the two-class logits (n, 2, in_dim)
        (Bernoulli); in train mode from a sampled z. Sets `self.kl`."""
        mu, logvar, _ = self.encode(x)
        self.kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
        if not self.training:
            return self._likelihood_output(mu)
        eps = torch.randn(mu.shape, generator=self.gen, dtype=mu.dtype).to(mu.device)
        return self._likelihood_output(mu + (0.5 * logvar).exp() * eps)

    @staticmethod
    def kl_loss(model: "VAE", out: torch.Tensor) -> torch.Tensor:
        """Return the KL term the last forward stored (the `extra_loss` hook of `train.fit`)."""
        return model.kl

    @staticmethod
    def kl_per_output(model: "VAE", out: torch.Tensor) -> torch.Tensor:
        """Return KL / in_dim: the KL term on the scale of a per-output mean reconstruction loss."""
        return model.kl / model.out_dim

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return [x, e_1..e_depth, mu, d_1..d_depth, reconstruction] along the mean path."""
        mu, _, enc = self.encode(x)
        recon, dec = self.decode(mu, hidden=True)
        return [x, *enc, mu, *dec, recon]


class SmallTransformer(nn.Module):
    """A small pre-LayerNorm transformer encoder classifying token sequences from a [CLS] token.

    Input: token ids x (n, seq_len) (long, values in 0..vocab-1; float ids are rounded). A learned
    [CLS] embedding is prepended, learned position embeddings added, then `depth` blocks of
    x + MHA(LN(x)), x + MLP(LN(x)) (MLP width 4 d_model, GELU), a final LayerNorm and a linear head
    on the [CLS] position.

    `features(x)` returns depth + 2 tensors:
        [cls_0 (n, d_model) the [CLS] vector after embedding, cls_1..cls_depth (n, d_model) after
         each block, logits (n, n_classes)].
    """

    def __init__(self, vocab: int, seq_len: int, n_classes: int, *, d_model: int = 32, n_heads: int = 2,
                 depth: int = 2, seed: int = 0):
        super().__init__()
        if d_model % n_heads:
            raise ModelError(f"d_model must be divisible by n_heads, got d_model={d_model}, n_heads={n_heads}")
        with seeded_rng(seed):
            self.embed = nn.Embedding(vocab + 1, d_model)  # id `vocab` is [CLS]
            self.pos = nn.Parameter(0.02 * torch.randn(seq_len + 1, d_model))
            self.blocks = nn.ModuleList(_Block(d_model, n_heads) for _ in range(depth))
            self.norm, self.head = nn.LayerNorm(d_model), nn.Linear(d_model, n_classes)
        self.vocab, self.seq_len, self.depth, self.out_dim = vocab, seq_len, depth, n_classes

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        ids = x.round().long() if x.is_floating_point() else x.long()
        cls = torch.full((ids.shape[0], 1), self.vocab, dtype=torch.long, device=ids.device)
        return self.embed(torch.cat([cls, ids], 1)) + self.pos

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return [cls_0, cls_1, ..., cls_depth, logits] (see the class docstring)."""
        h = self._embed(x)
        out = [h[:, 0]]
        for block in self.blocks:
            h = block(h)
            out.append(h[:, 0])
        out.append(self.head(self.norm(h[:, 0])))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits (n, n_classes) for token ids x (n, seq_len)."""
        return self.features(x)[-1]


class _Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        a = self.ln1(h)
        h = h + self.attn(a, a, a, need_weights=False)[0]
        return h + self.mlp(self.ln2(h))


@contextlib.contextmanager
def seeded_rng(seed: int):
    """Run the block with the CPU global RNG seeded with `seed`, restoring its state afterwards, so
    modules built inside get PyTorch's default init reproducibly without touching the caller's RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


BERT_HOWTO = ("download the weights once on a machine with network access: `pip install transformers` then "
              "`python -c \"from transformers import AutoModel, AutoTokenizer as T; "
              "AutoModel.from_pretrained('bert-base-uncased').save_pretrained('DIR'); "
              "T.from_pretrained('bert-base-uncased').save_pretrained('DIR')\"`, and pass -p bert_weights DIR")


class BertCLS(nn.Module):
    """A pre-trained BERT encoder with a linear head on [CLS], features like `SmallTransformer`.

    Loaded from a local folder only (`from_pretrained(path, local_files_only=True)`); nothing is
    downloaded. Input: token ids (n, seq_len) of the book's sequence task, mapped to the BERT ids
    `first_token_id + id` and framed as [CLS] ... [SEP]. `features(x)` returns n_layers + 2 tensors:
    [cls after the embeddings (n, hidden), cls after each encoder layer (n, hidden), logits (n, n_classes)].
    """

    def __init__(self, weights: str, n_classes: int, *, first_token_id: int = 1000, seed: int = 0):
        super().__init__()
        self.bert = load_bert(weights)
        self.config = self.bert.config
        self.first_token_id, self.out_dim = first_token_id, n_classes
        with seeded_rng(seed):
            self.head = nn.Linear(self.config.hidden_size, n_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        ids = (x.round().long() if x.is_floating_point() else x.long()) + self.first_token_id
        n = ids.shape[0]
        cls = torch.full((n, 1), self.config.cls_token_id if hasattr(self.config, "cls_token_id") else 101,
                         dtype=torch.long, device=ids.device)
        sep = torch.full((n, 1), getattr(self.config, "sep_token_id", None) or 102, dtype=torch.long, device=ids.device)
        out = self.bert(input_ids=torch.cat([cls, ids, sep], 1), output_hidden_states=True)
        hidden = [h[:, 0] for h in out.hidden_states]
        return [*hidden, self.head(hidden[-1])]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[-1]


def load_bert(weights: str):
    """Return a transformers BERT model read from the local folder `weights` (never downloads).

    Raises ModelError with the steps to get the weights when `weights` is empty or missing, or when
    the `transformers` package is not installed.
    """
    from pathlib import Path

    if not weights:
        raise ModelError(f"the paper's BERT setting needs pre-trained weights on disk (bert_weights is empty); "
                         f"{BERT_HOWTO}")
    if not Path(weights).is_dir():
        raise ModelError(f"bert_weights={weights!r} is not a folder; {BERT_HOWTO}")
    try:
        from transformers import AutoModel
    except ImportError:
        raise ModelError("the paper's BERT setting needs the `transformers` package (pip install transformers); "
                         f"then {BERT_HOWTO}") from None
    return AutoModel.from_pretrained(weights, local_files_only=True)
