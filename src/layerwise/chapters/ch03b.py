"""Chapter 03b, the gram beyond plain mlps: its parameters (book defaults, smoke/paper values, help) and rules."""
from __future__ import annotations

from typing import Any

from ..config import CHOICES, ConfigError, Param

PARAMS = dict(
    dataset=Param('digits', "", paper='cifar10'),
    data_root=Param('', ""),
    download=Param(False, ""),
    n_train=Param(0, "", smoke=300),
    n_test=Param(0, "", smoke=100),
    tl_width=Param(256, "", smoke=32),
    tl_depth=Param(5, ""),
    tl_epochs=Param(40, "", smoke=3, paper=100),
    tl_batch_size=Param(64, ""),
    sgd_lr=Param(0.01, "", paper=0.0005),
    sgd_momentum=Param(0.8, "", paper=0.8),
    adam_lr=Param(0.001, ""),
    cnn_channels=Param(16, "", smoke=4),
    cnn_epochs=Param(12, "", smoke=2, paper=20),
    cnn_lr=Param(0.01, ""),
    cnn_momentum=Param(0.95, ""),
    cnn_batch_size=Param(64, ""),
    n_seeds=Param(3, "", smoke=1, paper=5),
    vae_dataset=Param('digits', "", paper='mnist'),
    vae_width=Param(256, "", smoke=32),
    vae_depth=Param(2, ""),
    latent_dim=Param(8, ""),
    vae_epochs=Param(40, "", smoke=2, paper=100),
    vae_lr=Param(0.001, ""),
    vae_batch_size=Param(64, ""),
    interp_steps=Param(8, ""),
    attention=Param('small', "", paper='bert'),
    bert_weights=Param('', ""),
    seq_len=Param(16, ""),
    seq_classes=Param(4, ""),
    n_sequences=Param(2000, "", smoke=200),
    d_model=Param(32, "", smoke=16),
    n_heads=Param(2, ""),
    n_blocks=Param(3, "", smoke=2),
    attn_epochs=Param(25, "", smoke=2, paper=3),
    attn_lr=Param(0.001, "", paper=2e-05),
    attn_batch_size=Param(64, ""),
    nfa_n=Param(1000, "", smoke=200),
    nfa_width=Param(120, "", smoke=16),
    nfa_depth=Param(4, ""),
    nfa_epochs=Param(150, "", smoke=4, paper=1500),
    nfa_lr=Param(0.02, ""),
    nfa_momentum=Param(0.9, ""),
    nfa_batch_size=Param(100, ""),
    n_snapshots=Param(6, "", smoke=2),
)


_CH03B_CHOICES = {"attention": ("small", "bert"), "vae_dataset": CHOICES["dataset"]}

def check(p: dict[str, Any]) -> None:
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
