"""Preset tables per chapter, parameter validation at the boundary, and device resolution.

Every chapter calls `resolve(chapter, preset, device=..., seed=..., **params)` once, in its first code
cell: parameters left at `None` are filled from the preset table, and every value is checked before
any work starts. The command line (`layerwise run 01 -p depth 8`) goes through the same checks.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

PRESET_NAMES = ("smoke", "book", "paper")


class ConfigError(ValueError):
    """A parameter has a value the chapter cannot use; the message says what it accepts."""


@dataclass(frozen=True)
class Chapter:
    number: str  # "01"
    slug: str  # "01_deep_linear_compression": the notebook's file name without extension
    title: str


CHAPTERS: dict[str, Chapter] = {
    c.number: c
    for c in [
        Chapter("01", "01_deep_linear_compression", "Deep linear compression"),
        Chapter("02", "02_assumption_checks", "Assumption checks"),
        Chapter("03", "03_gram_learning_equation", "The Gram learning equation"),
        Chapter("03b", "03b_gram_beyond_mlps", "The Gram beyond plain MLPs"),
        Chapter("04", "04_equilibrium_layer", "The equilibrium layer"),
        Chapter("05", "05_extractor_tunnel", "Extractor and tunnel"),
        Chapter("06", "06_spurious_features", "Spurious features"),
        Chapter("07", "07_where_lenses_agree", "Where the lenses agree"),
    ]
}

# Preset tables. The `book` column defines each parameter's type; `smoke` must run in seconds,
# `book` in minutes on a 2-core CPU, `paper` is the source paper's own scale (a GPU).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "01": {
        "book": dict(
            n_per_class=10, n_classes=3, dim=50, depth=6, init_scale=0.3, alpha=100.0,
            lr=0.1, lr_min=0.01, epochs=5000, stop_loss=1e-11, n_seeds=3,
            rate_init_scales=[0.1, 0.3, 0.5], rate_alphas=[1.0, 100.0],
            sweep_depths=[4, 5, 6, 7, 8, 9, 10], sweep_n_per_class=[10, 15, 20, 30, 50],
            dataset="digits", data_root="", download=False, n_train=0,
            net_width=256, net_depth=8, hybrid_nonlinear=3, net_epochs=60, net_lr=0.01,
            net_momentum=0.9, net_weight_decay=1e-4, net_batch_size=128, net_init_scale=0.1,
            alpha_hybrid=100.0, alpha_mlp=1.0,
        ),
        "smoke": dict(
            n_seeds=1, epochs=400, rate_init_scales=[0.3], rate_alphas=[100.0], sweep_depths=[4, 6],
            sweep_n_per_class=[10, 20], net_width=32, net_epochs=2, n_train=300,
        ),
        "paper": dict(
            n_seeds=10, sweep_n_per_class=[10, 15, 20, 30, 50, 100], dataset="cifar10",
            net_width=1024, net_epochs=400, net_lr=1e-4, net_batch_size=128,
        ),
    },
    # --- chapter 02 presets ---
    "02": {
        "book": dict(
            n_per_class=10, n_classes=3, dim=50, init_scale=0.1, alpha=1.0, lr=0.1, lr_min=1e-4,
            epochs=100000, stop_loss=1e-10, n_seeds=2,
            sweep_depths=[2, 3, 4, 5], width=400, sweep_widths=[200, 400, 700], depth=5,
            rate_depth=6, rate_width=50, rate_init_scale=0.3, rate_alpha=100.0, rate_lr=0.1, rate_lr_min=0.01,
            rate_epochs=5000, rate_stop_loss=1e-11, rate_init_scales=[0.4, 0.5, 0.6],
            rate_weight_decays=[3e-3, 1e-2, 3e-2], decay_epochs=300, rate_activations=["tanh", "relu"],
            nonlinear_epochs=1000,
            dataset="digits", data_root="", download=False, n_train=0, net_width=64, extractor_depth=2,
            head_depths=[1, 2, 3, 4, 5], net_epochs=200, net_lr=1e-3, net_init_scale=0.3,
            n_probe_per_class=10, n_probe_draws=5,
        ),
        "smoke": dict(
            n_seeds=1, epochs=3000, stop_loss=1e-6, sweep_depths=[2, 3], width=60, sweep_widths=[60, 100], depth=3,
            rate_epochs=300, rate_init_scales=[0.5], rate_weight_decays=[1e-2], decay_epochs=30,
            rate_activations=["relu"], nonlinear_epochs=30, net_width=16, head_depths=[1, 3], net_epochs=5,
            n_probe_draws=2,
        ),
        "paper": dict(
            n_seeds=10, sweep_widths=[200, 300, 400, 500, 600, 700], dataset="cifar10", net_width=1024,
            net_epochs=200,
        ),
    },

    # --- chapter 03 presets ---
    "03": {
        "book": dict(
            check_width=32, check_depth=4, check_n=128, check_lr=0.01,
            roll_n=1000, roll_width=32, roll_steps=100, roll_lr=0.05, roll_gain=700.0, roll_seeds=3,
            dataset="digits", data_root="", download=False, n_train=0, batch_size=64,
            tl_width=256, tl_depth=5, tl_epochs=30, tl_lr=0.05, tl_momentum=0.8,
            white_dataset="digits", white_width=128, white_depth=3, white_epochs=10, white_lr=0.05,
            white_momentum=0.85, white_seeds=3,
            stair_n=1000, stair_dim=10, stair_widths=[32, 64, 128, 256, 512], stair_steps=200, stair_lr=0.1,
            stair_log_every=5,
            rand_ps=[0.0, 0.5, 1.0], rand_n_train=600, rand_width=64, rand_depth=4, rand_epochs=80,
            rand_lr=0.02, rand_momentum=0.95, rand_log_every=8,
            grok_modulus=31, grok_width=128, grok_depth=4, grok_epochs=800, grok_lr=3e-3,
            grok_weight_decays=[0.0, 3.0], grok_batch_size=0, grok_train_fraction=0.7, grok_log_every=20,
        ),
        "smoke": dict(
            check_n=32, roll_n=200, roll_steps=20, roll_seeds=1, n_train=300, tl_width=32, tl_epochs=3,
            white_width=16, white_epochs=2, white_seeds=2, stair_n=200, stair_widths=[16, 32],
            stair_steps=20, rand_ps=[0.0, 1.0], rand_n_train=200, rand_width=32, rand_epochs=4,
            rand_log_every=2, grok_modulus=7, grok_width=32, grok_epochs=40, grok_weight_decays=[3.0],
            grok_log_every=10,
        ),
        "paper": dict(
            dataset="cifar10", tl_epochs=100, tl_lr=5e-4, tl_momentum=0.8,
            white_dataset="mnist", white_width=256, white_epochs=20, white_lr=0.01, white_seeds=5,
            stair_widths=[32, 128, 512, 1024], stair_steps=2000, stair_lr=0.01, stair_log_every=20,
            rand_ps=[0.0, 0.25, 0.5, 0.75, 0.9, 1.0], rand_n_train=0, rand_width=256, rand_epochs=200,
            rand_lr=0.005, rand_log_every=10, grok_modulus=61, grok_width=256, grok_epochs=500, grok_lr=1e-3,
            grok_weight_decays=[0.0, 0.25, 0.5, 0.75], grok_batch_size=32, grok_log_every=10,
        ),
    },

    # --- chapter 03b presets ---
    "03b": {
        "book": dict(
            dataset="digits", data_root="", download=False, n_train=0, n_test=0,
            # Adam vs SGD (Fig. 9): a GELU MLP with 4 hidden layers
            tl_width=256, tl_depth=5, tl_epochs=40, tl_batch_size=64, sgd_lr=0.01, sgd_momentum=0.8,
            adam_lr=0.001,
            # convolutions (Fig. 6): Gram-preserving SGD vs SGD on the small CNN
            cnn_channels=16, cnn_epochs=12, cnn_lr=0.01, cnn_momentum=0.95, cnn_batch_size=64, n_seeds=3,
            # the VAE (Figs. 5, 10)
            vae_dataset="digits", vae_width=256, vae_depth=2, latent_dim=8, vae_epochs=40, vae_lr=0.001,
            vae_batch_size=64, interp_steps=8,
            # attention (Fig. 11's question)
            attention="small", bert_weights="", seq_len=16, seq_classes=4, n_sequences=2000, d_model=32,
            n_heads=2, n_blocks=3, attn_epochs=25, attn_lr=0.001, attn_batch_size=64,
            # the neural feature ansatz on disk and yin-yang
            nfa_n=1000, nfa_width=120, nfa_depth=4, nfa_epochs=150, nfa_lr=0.02, nfa_momentum=0.9,
            nfa_batch_size=100, n_snapshots=6,
        ),
        "smoke": dict(
            n_train=300, n_test=100, tl_width=32, tl_epochs=3, cnn_channels=4, cnn_epochs=2, n_seeds=1,
            vae_width=32, vae_epochs=2, n_sequences=200, d_model=16, n_blocks=2, attn_epochs=2,
            nfa_n=200, nfa_width=16, nfa_epochs=4, n_snapshots=2,
        ),
        "paper": dict(
            dataset="cifar10", tl_epochs=100, sgd_lr=0.0005, sgd_momentum=0.8, cnn_epochs=20, n_seeds=5,
            vae_dataset="mnist", vae_epochs=100, attention="bert", attn_epochs=3, attn_lr=2e-5,
            nfa_epochs=1500,
        ),
    },

    # --- chapter 04 presets ---
    "04": {
        "book": dict(
            datasets=["digits"], data_root="", download=False, n_train=0, n_align=100,
            hidden_layers=10, width=256, lr=0.01, scale_lr_with_depth=True, momentum=0.9,
            weight_decay=5e-4, batch_size=128, epochs=40, stop_loss=1e-2,
            sweep_hidden_layers=[5, 10, 15, 20, 25], sweep_width=128, sweep_epochs=60, n_seeds=3,
            theory_width=2048, theory_hidden_layers=20,
        ),
        "smoke": dict(
            n_train=200, n_align=30, hidden_layers=3, width=32, epochs=3, sweep_hidden_layers=[2, 3, 4],
            sweep_width=32, sweep_epochs=2, n_seeds=1, theory_width=256,
        ),
        "paper": dict(
            datasets=["mnist", "cifar10"], sweep_hidden_layers=[10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
            sweep_width=256, epochs=200, sweep_epochs=200, n_seeds=3,
        ),
    },

    # --- chapter 05 presets ---
    "05": {
        "book": dict(
            dataset="digits", data_root="", download=False, n_train=0, n_measure=0,
            width=128, depth=12, compare_depth=6, epochs=100, lr=0.01, momentum=0.9, weight_decay=5e-4,
            batch_size=128, n_seeds=1, class_counts=[2, 5, 10], ood_train_classes=5, early_fraction=0.1,
            mb_batch_size=256, mb_epochs=10,
            cs_depths=[2, 3, 5, 9], cs_width=120, cs_core_strengths=[0.1, 0.25, 1.0], cs_n_train=600,
            cs_epochs=300, cs_lr=0.02,
            ntk_depths=[2, 3, 4, 5, 6, 7, 8, 9], ntk_width=120, ntk_n_train=400, ntk_n_kernel=200,
            ntk_epochs=300, ntk_optimizer="adam", ntk_lr=3e-3, ntk_seeds=2,
            hmm_depth=9, hmm_width=120, hmm_n_train=600, hmm_latent_dim=10, hmm_ambient_dim=100,
            hmm_epochs=300, hmm_optimizer="adam", hmm_lr=3e-3,
        ),
        "smoke": dict(
            n_train=300, width=32, depth=4, compare_depth=3, epochs=2, class_counts=[2, 10], mb_epochs=1,
            cs_depths=[2, 3], cs_width=32, cs_core_strengths=[0.25, 1.0], cs_n_train=200, cs_epochs=20,
            ntk_depths=[2, 3], ntk_width=32, ntk_n_train=200, ntk_n_kernel=40, ntk_epochs=20, ntk_seeds=1,
            hmm_depth=3, hmm_width=32, hmm_n_train=200, hmm_epochs=20,
        ),
        "paper": dict(
            dataset="cifar10", width=1024, depth=12, compare_depth=6, epochs=100, n_seeds=3, n_measure=10000,
            cs_depths=[2, 3, 4, 5, 6, 7, 8, 9], cs_n_train=1200, cs_epochs=1500,
            ntk_n_train=1200, ntk_epochs=1500, ntk_n_kernel=500, ntk_seeds=5,
            hmm_n_train=5000, hmm_ambient_dim=784, hmm_epochs=1500,
        ),
    },

    # --- chapter 06 presets ---
    "06": {
        "book": dict(
            # core/spurious data (note 06, section 4) and the network of its calibration run
            n_train=600, n_test=1000, n_heldout=800, p_values=[0.9, 0.99, 1.0], mu=2.0, sigma=0.2,
            a_core=0.25, a_spurious=6.0, n_noise=10, noise_scale=0.1,
            width=120, depth=5, lr=0.02, momentum=0.9, epochs=600, stop_loss=1e-3, n_inits=10,
            # spectral decoupling, DFR
            sd_coefs=[1e-3, 1e-2, 1e-1], sd_epochs=250, dfr_refits=20,
            # Shah et al.'s LMS-5
            lms_n_train=5000, lms_n_test=2000, lms_dim=50, lms_margin=0.1, lms_width=100, lms_depth=3,
            lms_lr=0.1, lms_weight_decay=5e-5, lms_batch_size=256, lms_epochs=8,
            # Pezeshki et al.'s shifted two moons
            moons_n=300, moons_margin=0.1, moons_width=500, moons_lr=0.01, moons_epochs=300,
            moons_sd=0.003, moons_seeds=10,
            # the retraining-depth question
            deep_depth=8, deep_width=120, deep_epochs=300, deep_seeds=3, head_epochs=100, head_lr=0.01,
        ),
        "smoke": dict(
            n_train=300, n_test=400, n_heldout=400, p_values=[0.9, 1.0], epochs=80, n_inits=3,
            sd_coefs=[0.1], sd_epochs=40, dfr_refits=2, lms_n_train=600, lms_n_test=400, lms_epochs=2,
            moons_width=64, moons_epochs=30, moons_seeds=2, deep_depth=4, deep_width=32, deep_epochs=30, deep_seeds=1,
            head_epochs=10,
        ),
        "paper": dict(
            n_train=1200, n_test=4000, n_heldout=2000, epochs=3000, sd_epochs=3000,
            lms_n_train=100000, lms_n_test=10000, lms_epochs=20, moons_epochs=1000,
            deep_epochs=2000, deep_seeds=10, head_epochs=300,
        ),
    },

    # --- chapter 07 presets ---
    "07": {
        "book": dict(
            width=256, sweep_depths=[6, 10, 16, 24], n_seeds=2, epochs=20, lr=0.01, momentum=0.9,
            batch_size=128, dataset="digits", data_root="", download=False, n_train=0,
            latent_dims=[2, 8, 32], ambient_dim=100, n_samples=1000, n_test=500,
            n_kernel=100, n_cka=512, cka_threshold=0.9, tl_rel=0.05, onset_tol=0.1,
        ),
        "smoke": dict(
            width=32, sweep_depths=[3, 5], n_seeds=1, epochs=2, n_train=300, latent_dims=[2, 8],
            n_samples=200, n_test=100, n_kernel=20, n_cka=100,
        ),
        "paper": dict(
            sweep_depths=[6, 10, 16, 24, 32, 50], n_seeds=5, epochs=50, dataset="mnist", n_train=10000,
            latent_dims=[2, 4, 8, 16, 32, 64], n_samples=10000, n_test=2000, n_kernel=200, n_cka=2000,
        ),
    },
}

# Names that mean the same thing in every chapter, with the values they accept.
_POSITIVE_INT = {
    "depth", "width", "n_per_class", "n_classes", "dim", "epochs", "n_seeds", "batch_size",
    "net_width", "net_depth", "net_epochs", "net_batch_size", "steps", "n_samples", "n_outputs",
}
_NONNEGATIVE_INT = {"n_train", "hybrid_nonlinear", "n_test"}
_POSITIVE_FLOAT = {"lr", "init_scale", "alpha", "net_lr", "net_init_scale", "alpha_hybrid", "alpha_mlp"}
_NONNEGATIVE_FLOAT = {"weight_decay", "net_weight_decay", "lr_min", "stop_loss", "noise"}
_UNIT_INTERVAL = {"momentum", "net_momentum"}
CHOICES: dict[str, tuple[str, ...]] = {
    "activation": ("relu", "tanh", "gelu", "linear"),
    "dataset": ("digits", "mnist1d", "mnist", "fashionmnist", "cifar10", "fake"),
    "optimizer": ("sgd", "adam", "adamw"),
    "loss": ("mse", "ce"),
}


def _base_name(name: str) -> str:
    """Return the shared name a chapter parameter is checked as: `sweep_depths` -> `depth`."""
    for prefix in ("sweep_", "rate_", "theory_"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    if name.endswith("s") and name[:-1] in _POSITIVE_INT | _POSITIVE_FLOAT | _NONNEGATIVE_FLOAT:
        name = name[:-1]
    if name == "n_per_clas":  # "sweep_n_per_class" has no plural s to strip
        name = "n_per_class"
    return name


def preset_table(chapter: str, preset: str) -> dict[str, Any]:
    """Return the full parameter table of `chapter` at `preset` (book values overlaid by the preset's)."""
    chapter = chapter_number(chapter)
    if preset not in PRESET_NAMES:
        raise ConfigError(f"preset must be one of {', '.join(PRESET_NAMES)}, got {preset!r}")
    table = dict(PRESETS[chapter]["book"])
    table.update(PRESETS[chapter].get(preset, {}))
    return table


def chapter_number(chapter: str | int) -> str:
    """Return the two-digit number of a chapter given as 1, "1", "01" or its slug."""
    text = str(chapter)
    number = text.split("_", 1)[0]
    number = number.zfill(2) if number.isdigit() else number.zfill(3)
    if number not in CHAPTERS or number not in PRESETS:
        known = ", ".join(f"{c.number} ({c.slug})" for c in CHAPTERS.values() if c.number in PRESETS)
        raise ConfigError(f"unknown chapter {chapter!r}; the chapters are: {known}")
    return number


@dataclass(frozen=True)
class Config:
    """A chapter's resolved parameters; `cfg.depth` reads a parameter, `cfg.as_dict()` gives all."""

    chapter: str
    preset: str
    device: torch.device
    seed: int
    results_dir: Path
    params: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("params", {})
        if name in params:
            return params[name]
        raise AttributeError(f"chapter {self.__dict__.get('chapter')} has no parameter {name!r}")

    def as_dict(self) -> dict[str, Any]:
        """Return every parameter plus preset, device and seed, for a results file."""
        return {"chapter": self.chapter, "preset": self.preset, "device": str(self.device),
                "seed": self.seed, **self.params}


def resolve(chapter: str | int, preset: str = "book", *, device: str = "auto", seed: int = 0,
            results_dir: str | os.PathLike | None = None, **params: Any) -> Config:
    """Return the chapter's Config: `None` parameters taken from the preset, every value validated.

    Raises ConfigError (naming the parameter, the value and what is accepted) for an unknown preset,
    an unknown parameter name, a value of the wrong type or out of range, or a missing device.
    """
    number = chapter_number(chapter)
    table = preset_table(number, preset)
    unknown = sorted(set(params) - set(table))
    if unknown:
        raise ConfigError(
            f"unknown parameter {unknown[0]!r} for chapter {number}; it accepts: {', '.join(sorted(table))}")
    values = dict(table)
    for name, value in params.items():
        if value is not None:
            values[name] = validate_value(number, name, value)
    for name, value in values.items():
        validate_value(number, name, value)
    for check in CROSS_CHECKS.get(number, []):
        check(values)
    seed = validate_value(number, "seed", seed, kind=int)
    from .io import ensure_writable_dir

    out = ensure_writable_dir(Path(results_dir) if results_dir else default_results_dir(number))
    return Config(number, preset, resolve_device(device), seed, out, values)


def validate_value(chapter: str, name: str, value: Any, kind: type | None = None) -> Any:
    """Return `value` checked against the type of the book preset and the rules for `name`."""
    hint = f"(set it in the parameters cell or with -p {name} VALUE)"
    expected = PRESETS[chapter]["book"].get(name) if kind is None else kind()
    if isinstance(expected, list):
        if not isinstance(value, (list, tuple)) or len(value) == 0:
            raise ConfigError(f"{name} must be a non-empty list, got {value!r} {hint}")
        elem = expected[0] if expected else 0.0
        return [_check_scalar(name, v, type(elem), hint) for v in value]
    return _check_scalar(name, value, type(expected), hint)


def _check_scalar(name: str, value: Any, kind: type, hint: str) -> Any:
    base = _base_name(name)
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r} {hint}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ConfigError(f"{name} must be an integer, got {value!r} {hint}")
        if base in _POSITIVE_INT and value < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {value} {hint}")
        if base in _NONNEGATIVE_INT and value < 0:
            raise ConfigError(f"{name} must be an integer >= 0, got {value} {hint}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, got {value!r} {hint}")
        value = float(value)
        if base in _POSITIVE_FLOAT and value <= 0:
            raise ConfigError(f"{name} must be a number > 0, got {value} {hint}")
        if base in _NONNEGATIVE_FLOAT and value < 0:
            raise ConfigError(f"{name} must be a number >= 0, got {value} {hint}")
        if base in _UNIT_INTERVAL and not 0 <= value < 1:
            raise ConfigError(f"{name} must be in [0, 1), got {value} {hint}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string, got {value!r} {hint}")
        if base in CHOICES and value not in CHOICES[base]:
            raise ConfigError(f"{name} must be one of {', '.join(CHOICES[base])}, got {value!r} {hint}")
        return value
    return value


def parse_value(chapter: str | int, name: str, text: str) -> Any:
    """Return the command-line string `text` converted to the type of parameter `name`, validated.

    Lists are comma-separated (`-p sweep_depths 4,6,8`); booleans are true/false/yes/no/1/0.
    """
    number = chapter_number(chapter)
    book = PRESETS[number]["book"]
    if name in ("seed",):
        expected: Any = 0
    elif name not in book:
        raise ConfigError(
            f"unknown parameter {name!r} for chapter {number}; it accepts: {', '.join(sorted(book))}")
    else:
        expected = book[name]
    if isinstance(expected, list):
        elem = expected[0] if expected else 0.0
        value: Any = [_parse_scalar(name, part.strip(), elem) for part in text.split(",") if part.strip()]
    else:
        value = _parse_scalar(name, text, expected)
    return validate_value(number, name, value, kind=int if name == "seed" else None)


def _parse_scalar(name: str, text: str, expected: Any) -> Any:
    try:
        if isinstance(expected, bool):
            lowered = text.lower()
            if lowered in ("true", "yes", "1"):
                return True
            if lowered in ("false", "no", "0"):
                return False
            raise ValueError
        if isinstance(expected, int):
            return int(text)
        if isinstance(expected, float):
            return float(text)
    except ValueError:
        kind = {bool: "boolean", int: "an integer", float: "a number"}.get(type(expected), "string")
        raise ConfigError(f"{name} must be {kind}, got {text!r} (e.g. -p {name} {expected!r})") from None
    return text


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Return the torch.device for "auto" (cuda when present, else cpu), "cpu", "cuda" or "cuda:N"."""
    text = str(device)
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "cuda" or text.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {text!r} is not available on this machine (no CUDA GPU); "
                              "use device='auto' or 'cpu'")
        index = text.split(":", 1)[1] if ":" in text else "0"
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            raise ConfigError(f"device {text!r} does not exist; this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s): cuda:0..")
        return torch.device(text)
    raise ConfigError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {text!r}")


def find_root(start: str | os.PathLike | None = None) -> Path | None:
    """Return the nearest folder at or above `start` (default: cwd) holding `_toc.yml`, or None."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    return None


def default_results_dir(chapter: str) -> Path:
    """Return where an interactive run writes results: `_build/interactive/<slug>` in the book."""
    root = find_root()
    base = root / "_build" / "interactive" if root else Path.cwd() / "layerwise-results"
    return base / CHAPTERS[chapter].slug


def _check_ch01(p: dict[str, Any]) -> None:
    for n in [p["n_per_class"], *p["sweep_n_per_class"]]:
        if n * p["n_classes"] > 10_000:
            raise ConfigError(f"n_per_class={n} gives more than 10000 samples for the theory data")
    if p["net_width"] < 10:
        raise ConfigError(f"net_width must be >= 10 (the number of classes), got {p['net_width']}")
    if p["hybrid_nonlinear"] >= p["net_depth"]:
        raise ConfigError(f"hybrid_nonlinear must be < net_depth={p['net_depth']} (it counts hidden "
                          f"layers), got {p['hybrid_nonlinear']}")


# --- chapter 02 checks ---
def _check_ch02(p: dict[str, Any]) -> None:
    for name in ("extractor_depth", "n_probe_per_class", "n_probe_draws", "decay_epochs", "nonlinear_epochs"):
        if p[name] < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {p[name]}")
    if min(p["head_depths"]) < 1:
        raise ConfigError(f"head_depths must all be >= 1 (projection-head layers), got {p['head_depths']}")
    bad = [a for a in p["rate_activations"] if a not in CHOICES["activation"]]
    if bad:
        raise ConfigError(f"rate_activations must be among {', '.join(CHOICES['activation'])}, got {bad}")
    if p["n_per_class"] * p["n_classes"] > p["dim"]:
        raise ConfigError(f"the Fig. 6 data need N = n_per_class * n_classes <= dim (orthonormal inputs); got "
                          f"N = {p['n_per_class'] * p['n_classes']} > dim = {p['dim']}")
    if p["n_classes"] < 2 or p["dim"] - 2 * p["n_classes"] < 1:
        raise ConfigError(f"need n_classes >= 2 and dim > 2 * n_classes for the bulk singular values, got "
                          f"n_classes={p['n_classes']}, dim={p['dim']}")
    if min([p["width"], *p["sweep_widths"], p["rate_width"]]) < p["n_classes"]:
        raise ConfigError(f"widths must be >= n_classes = {p['n_classes']} (orthogonal init)")
    if min(p["sweep_depths"]) < 2 or p["depth"] < 2 or p["rate_depth"] < 3:
        raise ConfigError("sweep_depths and depth must be >= 2 and rate_depth >= 3 (balance needs two layers, "
                          "a rate needs a hidden layer)")
    if p["net_width"] < 5:
        raise ConfigError(f"net_width must be >= 5 (the 5 source classes), got {p['net_width']}")


# --- chapter 03 checks ---
_CH03_POSITIVE = ("check_width", "check_depth", "check_n", "check_lr", "roll_n", "roll_width", "roll_steps",
                  "roll_lr", "roll_gain", "roll_seeds", "tl_width", "tl_epochs", "tl_lr", "white_width",
                  "white_epochs", "white_lr", "white_seeds", "stair_n", "stair_steps", "stair_lr",
                  "stair_log_every", "rand_width", "rand_epochs", "rand_lr", "rand_log_every", "grok_modulus",
                  "grok_width", "grok_epochs", "grok_lr", "grok_log_every")


def _check_ch03(p: dict[str, Any]) -> None:
    for name in _CH03_POSITIVE:
        if p[name] <= 0:
            raise ConfigError(f"{name} must be > 0, got {p[name]} (set it in the parameters cell or with -p {name} N)")
    for name in ("check_depth", "tl_depth", "white_depth", "rand_depth", "grok_depth"):
        if p[name] < 3:
            raise ConfigError(f"{name} must be >= 3 (at least two hidden layers), got {p[name]}")
    if p["stair_dim"] < 4:
        raise ConfigError(f"stair_dim must be >= 4 (the staircase target uses x1..x4), got {p['stair_dim']}")
    for name in ("tl_momentum", "white_momentum", "rand_momentum"):
        if not 0 <= p[name] < 1:
            raise ConfigError(f"{name} must be in [0, 1), got {p[name]}")
    if not all(0 <= q <= 1 for q in p["rand_ps"]):
        raise ConfigError(f"rand_ps must lie in [0, 1] (label-noise probabilities), got {p['rand_ps']}")
    if not 0 < p["grok_train_fraction"] < 1:
        raise ConfigError(f"grok_train_fraction must be in (0, 1), got {p['grok_train_fraction']}")
    if any(w < 0 for w in p["grok_weight_decays"]) or any(w < 1 for w in p["stair_widths"]):
        raise ConfigError("grok_weight_decays must be >= 0 and stair_widths >= 1, got "
                          f"{p['grok_weight_decays']} and {p['stair_widths']}")
    if p["white_dataset"] not in CHOICES["dataset"]:
        raise ConfigError(f"white_dataset must be one of {', '.join(CHOICES['dataset'])}, got {p['white_dataset']!r}")
    if p["grok_batch_size"] < 0 or p["rand_n_train"] < 0:
        raise ConfigError("grok_batch_size and rand_n_train must be >= 0 (0 = full batch / all samples)")

# --- chapter 03b checks ---

_CH03B_CHOICES = {"attention": ("small", "bert"), "vae_dataset": CHOICES["dataset"]}


def _check_ch03b(p: dict[str, Any]) -> None:
    for name, accepted in _CH03B_CHOICES.items():
        if p[name] not in accepted:
            raise ConfigError(f"{name} must be one of {', '.join(accepted)}, got {p[name]!r} (-p {name} VALUE)")
    for name, value in p.items():
        if name.endswith(("_lr", "_epochs", "_width", "_depth", "_batch_size", "_dim", "_n", "_classes",
                          "_channels", "_steps", "_sequences", "_blocks", "_heads", "_model", "_snapshots")):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{name} must be a number > 0, got {value!r} (-p {name} VALUE)")
    if p["d_model"] % p["n_heads"]:
        raise ConfigError(f"d_model ({p['d_model']}) must be divisible by n_heads ({p['n_heads']})")
    if p["tl_depth"] < 3 or p["nfa_depth"] < 2:
        raise ConfigError(f"tl_depth must be >= 3 and nfa_depth >= 2 (hidden layers to compare), got "
                          f"{p['tl_depth']}, {p['nfa_depth']}")

# --- chapter 04 checks ---
def _check_ch04(p: dict[str, Any]) -> None:
    bad = [d for d in p["datasets"] if d not in CHOICES["dataset"]]
    if bad:
        raise ConfigError(f"datasets must list names from {', '.join(CHOICES['dataset'])}, got {bad[0]!r} "
                          "(e.g. -p datasets mnist,cifar10)")
    for name, value in (("hidden_layers", p["hidden_layers"]), ("theory_hidden_layers", p["theory_hidden_layers"]),
                        ("n_align", p["n_align"]), *(("sweep_hidden_layers", v) for v in p["sweep_hidden_layers"])):
        if value < 1:
            raise ConfigError(f"{name} must hold integers >= 1, got {value} (set it in the parameters cell "
                              f"or with -p {name} VALUE)")
    if p["n_align"] < 10 or p["n_align"] > 2000:
        raise ConfigError(f"n_align must be in [10, 2000] (kernels are (10 n_align)^2 per layer), got {p['n_align']}")
    if min(p["width"], p["sweep_width"]) < 10:
        raise ConfigError(f"width and sweep_width must be >= 10 (the number of classes), got "
                          f"{p['width']} and {p['sweep_width']}")
    if 0 < p["n_train"] < p["n_align"]:
        raise ConfigError(f"n_train={p['n_train']} must be 0 (all) or >= n_align={p['n_align']}: the alignment "
                          "sample is drawn from the training set")


# --- chapter 05 checks ---
def _check_ch05(p: dict[str, Any]) -> None:
    hint = "(set it in the parameters cell or with -p NAME VALUE)"
    ints = ["n_measure", "compare_depth", "ood_train_classes", "mb_batch_size", "mb_epochs", "cs_width",
            "cs_n_train", "cs_epochs", "ntk_width", "ntk_n_train", "ntk_n_kernel", "ntk_epochs", "ntk_seeds",
            "hmm_depth", "hmm_width", "hmm_n_train", "hmm_latent_dim", "hmm_ambient_dim", "hmm_epochs"]
    for name in ints:
        if p[name] < (0 if name == "n_measure" else 1):
            raise ConfigError(f"{name} must be an integer >= {0 if name == 'n_measure' else 1}, got {p[name]} {hint}")
    for name in ("cs_lr", "ntk_lr", "hmm_lr"):
        if p[name] <= 0:
            raise ConfigError(f"{name} must be a number > 0, got {p[name]} {hint}")
    if min(p["cs_core_strengths"]) <= 0:
        raise ConfigError(f"every entry of cs_core_strengths must be > 0, got {p['cs_core_strengths']} {hint}")
    for name in ("depth", "compare_depth", "hmm_depth"):
        if p[name] < 3:
            raise ConfigError(f"{name} must be >= 3 (at least two hidden layers to compare), got {p[name]} {hint}")
    for name in ("cs_depths", "ntk_depths"):
        if min(p[name]) < 2:
            raise ConfigError(f"every entry of {name} must be >= 2 (one hidden layer), got {p[name]} {hint}")
    if any(not 2 <= c <= 10 for c in p["class_counts"]):
        raise ConfigError(f"class_counts must lie in [2, 10] (the data sets have 10 classes), got {p['class_counts']} {hint}")
    if not 2 <= p["ood_train_classes"] <= 8:
        raise ConfigError(f"ood_train_classes must be in [2, 8] so that >= 2 classes are held out, got "
                          f"{p['ood_train_classes']} {hint}")
    if not 0 < p["early_fraction"] < 1:
        raise ConfigError(f"early_fraction must be in (0, 1), got {p['early_fraction']} {hint}")
    for name in ("ntk_optimizer", "hmm_optimizer"):
        if p[name] not in CHOICES["optimizer"]:
            raise ConfigError(f"{name} must be one of {', '.join(CHOICES['optimizer'])}, got {p[name]!r} {hint}")
    if p["mb_batch_size"] < 4 or p["ntk_n_kernel"] < 4:
        raise ConfigError(f"mb_batch_size and ntk_n_kernel must be >= 4 (debiased HSIC needs 4 samples) {hint}")


# --- chapter 06 checks ---
_CH06_POSITIVE_INT = ("n_heldout", "n_inits", "sd_epochs", "dfr_refits", "lms_n_train", "lms_n_test",
                      "lms_dim", "lms_width", "lms_depth", "lms_batch_size", "lms_epochs", "moons_n",
                      "moons_width", "moons_epochs", "moons_seeds", "deep_depth", "deep_width", "deep_epochs", "deep_seeds",
                      "head_epochs")
_CH06_POSITIVE_FLOAT = ("mu", "sigma", "a_core", "a_spurious", "noise_scale", "lms_lr", "moons_lr", "head_lr")


def _check_ch06(p: dict[str, Any]) -> None:
    for name in _CH06_POSITIVE_INT:
        if p[name] < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {p[name]} (set it with -p {name} N)")
    if p["n_noise"] < 0:
        raise ConfigError(f"n_noise must be an integer >= 0, got {p['n_noise']}")
    for name in _CH06_POSITIVE_FLOAT:
        if p[name] <= 0:
            raise ConfigError(f"{name} must be a number > 0, got {p[name]} (set it with -p {name} X)")
    for name in ("lms_weight_decay", "moons_sd"):
        if p[name] < 0:
            raise ConfigError(f"{name} must be a number >= 0, got {p[name]}")
    for sd in p["sd_coefs"]:
        if sd < 0:
            raise ConfigError(f"sd_coefs must hold numbers >= 0, got {p['sd_coefs']}")
    if not all(0.5 <= prob <= 1.0 for prob in p["p_values"]) or not {0.9, 1.0} <= set(p["p_values"]):
        raise ConfigError(f"p_values must lie in [0.5, 1] (the probability that s = y in training) and include "
                          f"0.9 and 1.0, where note 06 states its claims; got {p['p_values']}")
    if not 0 < p["lms_margin"] < 0.25:
        raise ConfigError(f"lms_margin must be in (0, 0.25) so five slabs fit in [-1, 1], got {p['lms_margin']}")
    if p["moons_margin"] == 0:
        raise ConfigError("moons_margin must be non-zero (> 0 separable, < 0 overlapping), got 0")
    if p["deep_depth"] < 2 or p["depth"] < 2:
        raise ConfigError(f"depth and deep_depth must be >= 2 (a hidden layer to retrain from), got "
                          f"{p['depth']} and {p['deep_depth']}")
    if p["n_heldout"] < 16:
        raise ConfigError(f"n_heldout must be >= 16 so DFR has a few samples per group in both halves, got {p['n_heldout']}")

# --- chapter 07 checks ---
def _check_ch07(p: dict[str, Any]) -> None:
    for name in ("latent_dims", "ambient_dim", "n_kernel", "n_cka"):
        values = p[name] if isinstance(p[name], list) else [p[name]]
        if any(v < 1 for v in values):
            raise ConfigError(f"{name} must hold integers >= 1, got {p[name]!r}")
    if min(p["sweep_depths"]) < 3:
        raise ConfigError(f"sweep_depths must be >= 3 (two hidden layers at least), got {p['sweep_depths']}")
    if p["n_test"] < 1:
        raise ConfigError(f"n_test must be >= 1 (held-out samples of the hidden manifold task), got {p['n_test']}")
    for name in ("cka_threshold", "tl_rel", "onset_tol"):
        if not 0 <= p[name] < 1:
            raise ConfigError(f"{name} must be in [0, 1), got {p[name]}")

CROSS_CHECKS: dict[str, list[Callable[[dict[str, Any]], None]]] = {
    "01": [_check_ch01],
    # --- chapter 02 cross-check entry ---
    "02": [_check_ch02],

    # --- chapter 03 cross-check entry ---
    "03": [_check_ch03],

    # --- chapter 03b cross-check entry ---
    "03b": [_check_ch03b],

    # --- chapter 04 cross-check entry ---
    "04": [_check_ch04],

    # --- chapter 05 cross-check entry ---
    "05": [_check_ch05],

    # --- chapter 06 cross-check entry ---
    "06": [_check_ch06],

    # --- chapter 07 cross-check entry ---
    "07": [_check_ch07],
}


def resolve_notebook(chapter: str | int, namespace: dict[str, Any]) -> Config:
    """Return `resolve(...)` with preset, device, seed, results_dir and every chapter parameter read
    from `namespace`, a notebook's `globals()` after its `parameters` cell (absent names are None)."""
    number = chapter_number(chapter)
    params = {name: namespace.get(name) for name in PRESETS[number]["book"]}
    return resolve(number, namespace.get("preset", "book"), device=namespace.get("device", "auto"),
                   seed=namespace.get("seed", 0), results_dir=namespace.get("results_dir"), **params)
