"""Chapter 05, extractor and tunnel: its parameters (book defaults, smoke/paper values, help, rules) and
cross-parameter rules. The experiment (recipes, runs, measurements, the values its claims test) is in
`chapters/ch05_runs.py`."""
from __future__ import annotations

from typing import Any

from ..params import DATASETS, Bool, Choice, ConfigError, Float, Int, ListOf, Param, Path

PARAMS = dict(
    dataset=Param('mnist1d', "data set of the tunnel experiments (MNIST-1D: raw-input probe ~0.23, so a tunnel can exist)",
                  paper='cifar10', rule=Choice(*DATASETS)),
    data_root=Param('', "folder of the torchvision files (paper preset only)", rule=Path()),
    download=Param(False, "allow torchvision to download the data set into data_root", rule=Bool()),
    n_train=Param(0, "training samples, class-stratified subset (0 = the whole training split)", smoke=600, rule=Int(min=0)),
    n_measure=Param(0, "training samples on which ranks and CKA are measured (0 = all of them)", paper=10000, rule=Int(min=0)),
    width=Param(128, "width of the tunnel MLPs (the paper: 1024)", smoke=32, paper=1024, rule=Int(min=1, width=True)),
    depth=Param(12, "weight matrices of the main tunnel MLP (hidden layers 1..depth-1)", smoke=4, paper=12, rule=Int(min=3)),
    compare_depth=Param(6, "depth of the shorter MLP of claim 3 (depth 6 against 12)", smoke=3, paper=6, rule=Int(min=3)),
    epochs=Param(60, "training epochs of the tunnel MLPs (SGD, cosine schedule, minibatches; criterion train accuracy >= 0.99)",
                 smoke=3, paper=100, rule=Int(min=1)),
    lr=Param(0.01, "SGD learning rate of the tunnel MLPs", rule=Float(min=0, closed="right")),
    momentum=Param(0.9, "SGD momentum of the tunnel MLPs", rule=Float(min=0, max=1, closed="left")),
    weight_decay=Param(0.0005, "weight decay of the tunnel MLPs", rule=Float(min=0)),
    batch_size=Param(128, "minibatch size of the tunnel MLPs", rule=Int(min=1)),
    n_seeds=Param(5, "seeds of every tunnel experiment (seed s = seed + i; Masarczyk et al. ran 3)", smoke=3, paper=3,
                  rule=Int(min=1)),
    min_probe_gain=Param(0.1, "precondition of a tunnel claim: the best layer's probe beats the raw input's by at least this",
                         rule=Float(min=0, max=1, closed="left")),
    class_counts=Param([2, 5, 10], "numbers of classes C of claim 4 (the first C classes; C = 2: the pair the raw "
                       "input separates worst)", smoke=[2, 10], rule=ListOf(Int(min=2, max=10))),
    ood_train_classes=Param(5, "classes the OOD network is trained on; the rest are held out (claim 7)", rule=Int(min=2, max=8)),
    early_fraction=Param(0.1, "fraction of training at which the ranks are compared with the final ones (claim 5)",
                         rule=Float(min=0, max=1, closed="neither")),
    mb_batch_size=Param(256, "batch size of minibatch debiased CKA (Nguyen et al.: 256)", rule=Int(min=4)),
    mb_epochs=Param(10, "passes of minibatch CKA over the samples (Nguyen et al.: 10)", smoke=1, rule=Int(min=1)),
    cs_depths=Param([2, 3, 5, 9], "depths of the boundary project's part 1 networks on core/spurious data", smoke=[2, 3],
                    paper=[2, 3, 4, 5, 6, 7, 8, 9], rule=ListOf(Int(min=2))),
    cs_width=Param(120, "width of the part 1 networks (the project's 120)", smoke=32, rule=Int(min=1, width=True)),
    cs_core_strengths=Param([0.1, 0.25, 1.0], "core-feature strengths a_core of part 1", smoke=[0.25, 1.0],
                            rule=ListOf(Float(min=0, closed="right"))),
    cs_n_train=Param(600, "training samples of the core/spurious data", smoke=200, paper=1200, rule=Int(min=1)),
    cs_epochs=Param(600, "full-batch Adam epochs of part 1 (stops early at loss 1e-4)", smoke=20, paper=1500, rule=Int(min=1)),
    cs_lr=Param(0.003, "Adam learning rate of part 1 (the project's gradient descent left deep nets unfitted)",
                rule=Float(min=0, closed="right")),
    cs_seeds=Param(4, "seeds of part 1", smoke=3, paper=5, rule=Int(min=1)),
    ntk_depths=Param([3, 4, 5, 6, 7, 8, 9], "depths of the part 2 networks (2 to 8 hidden layers; one hidden layer does "
                     "not fit yin-yang)", smoke=[3, 4, 5], rule=ListOf(Int(min=2))),
    ntk_width=Param(120, "width of the part 2 networks", smoke=32, rule=Int(min=1, width=True)),
    ntk_n_train=Param(200, "yin-yang training samples of part 2", smoke=100, paper=1200, rule=Int(min=1)),
    ntk_n_kernel=Param(200, "held-out yin-yang points on which the NTK is computed", smoke=40, paper=500, rule=Int(min=4)),
    ntk_epochs=Param(600, "full-batch Adam epochs of part 2 (stops early at loss 1e-4)", smoke=20, paper=1500, rule=Int(min=1)),
    ntk_lr=Param(0.003, "Adam learning rate of part 2", rule=Float(min=0, closed="right")),
    ntk_seeds=Param(6, "seeds of part 2 (a peak must beat both ends of the sweep beyond seed noise)", smoke=3, paper=5,
                    rule=Int(min=1)),
    hmm_depth=Param(9, "depth of the open-step networks on the hidden manifold model", smoke=3, rule=Int(min=3)),
    hmm_width=Param(120, "width of the open-step networks", smoke=32, rule=Int(min=1, width=True)),
    hmm_n_train=Param(600, "hidden-manifold training samples", smoke=200, paper=5000, rule=Int(min=1)),
    hmm_latent_dim=Param(10, "latent dimension D of the hidden manifold model (Goldt et al.: 10)", rule=Int(min=1)),
    hmm_ambient_dim=Param(100, "input dimension N of the hidden manifold model (Goldt et al.: 784)", paper=784,
                          rule=Int(min=1)),
    hmm_epochs=Param(300, "full-batch Adam epochs of the open step (stops early at loss 1e-4)", smoke=20, paper=1500,
                     rule=Int(min=1)),
    hmm_lr=Param(0.003, "Adam learning rate of the open step", rule=Float(min=0, closed="right")),
    hmm_seeds=Param(8, "seeds of the open step (each draws its own manifold, teacher and network)", smoke=3, paper=8,
                    rule=Int(min=1)),
)


def check(p: dict[str, Any]) -> None:
    """Raise ConfigError for parameter combinations the chapter cannot run."""
    hint = "(set it in the parameters cell or with -p NAME VALUE)"
    if p["compare_depth"] >= p["depth"]:
        raise ConfigError(f"compare_depth must be smaller than depth (claim 3 compares a shorter net), got "
                          f"{p['compare_depth']} and {p['depth']} {hint}")
    if len(p["ntk_depths"]) < 3:
        raise ConfigError(f"ntk_depths needs >= 3 depths (a peak needs an interior depth), got {p['ntk_depths']} {hint}")
