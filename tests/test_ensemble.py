"""Seed ensembles: M members trained at once by `train.fit` follow the trajectories of M separate fits."""
import copy

import pytest
import torch

from layerwise import features, models, train
from layerwise.ensemble import Ensemble, EnsembleError

SEEDS = [3, 4, 5]


@pytest.fixture
def problem():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(48, 6, generator=gen, dtype=torch.float64)
    return x, torch.randint(0, 3, (48,), generator=gen)


def nets(**kw):
    with _float64():
        return [models.MLP(6, 8, 4, 3, seed=s, **kw) for s in SEEDS]


class _float64:
    def __enter__(self):
        self.old = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)

    def __exit__(self, *exc):
        torch.set_default_dtype(self.old)


def separate_and_together(problem, fast=True, net_kw=None, seed=SEEDS, **kw):
    x, y = problem
    alone = nets(**(net_kw or {}))
    ens = Ensemble(copy.deepcopy(alone))
    ens.fast_path = ens.fast_path and fast
    seeds = seed if isinstance(seed, list) else [seed] * len(SEEDS)
    hists = [train.fit(net, x, y, epochs=4, lr=0.05, seed=s, progress=False, **kw) for net, s in zip(alone, seeds)]
    hist = train.fit(ens, x, y, epochs=4, lr=0.05, seed=seed, progress=False, **kw)
    return alone, hists, ens, hist


def assert_same(alone, hists, ens, hist, x, tol=1e-10):
    for m, (net, h) in enumerate(zip(alone, hists)):
        assert hist.member(m).loss == pytest.approx(h.loss, abs=tol, rel=tol)
        theirs = ens.member(m).state_dict()
        for name, value in net.state_dict().items():
            torch.testing.assert_close(theirs[name], value, atol=tol, rtol=tol, msg=name)
        for a, b in zip(ens.layer_features(x)[m], features.layer_features(net, x)):
            torch.testing.assert_close(a, b, atol=tol, rtol=tol)
    assert hist.loss == pytest.approx([sum(row) / len(row) for row in hist.member_loss])


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "vmap"])
@pytest.mark.parametrize("kw", [
    dict(loss="ce", momentum=0.9, weight_decay=1e-3, batch_size=16),
    dict(loss="ce", optimizer="adam", weight_decay=1e-2, batch_size=12),
    dict(loss="mse", momentum=0.5, batch_size=0),
    dict(loss="mse", optimizer="adam", batch_size=0, schedule="cosine", sd_coef=0.1),
    dict(loss="mse", optimizer="adamw", weight_decay=0.1, batch_size=20),
], ids=["sgd-momentum-minibatch", "adam-minibatch", "sgd-momentum-full-batch", "adam-full-batch-cosine-sd",
        "adamw-minibatch"])
def test_an_ensemble_follows_separate_fits(problem, kw, fast):
    alone, hists, ens, hist = separate_and_together(problem, fast=fast, **kw)
    assert ens.fast_path == fast
    assert_same(alone, hists, ens, hist, problem[0])


def test_one_seed_gives_every_member_the_same_minibatch_order(problem):
    alone, hists, ens, hist = separate_and_together(problem, seed=7, loss="ce", momentum=0.9, batch_size=10)
    assert_same(alone, hists, ens, hist, problem[0])


def test_members_differ_by_their_init_seed(problem):
    alone, _, ens, _ = separate_and_together(problem, loss="ce", momentum=0.9, batch_size=16)
    outs = ens.eval()(problem[0])
    assert outs.shape == (3, 48, 3)
    assert not torch.allclose(outs[0], outs[1])


def test_batchnorm_members_follow_separate_fits_with_sgd(problem):
    alone, hists, ens, hist = separate_and_together(problem, net_kw=dict(batchnorm=True), loss="ce",
                                                    momentum=0.9, weight_decay=1e-3, batch_size=16)
    assert not ens.fast_path
    assert_same(alone, hists, ens, hist, problem[0], tol=1e-9)


def test_batchnorm_with_adam_agrees_in_the_losses(problem):
    # the biases in front of BatchNorm get rounding-noise gradients that Adam amplifies (see ensemble.py)
    alone, hists, ens, hist = separate_and_together(problem, net_kw=dict(batchnorm=True), loss="ce",
                                                    optimizer="adam", batch_size=16)
    for m, h in enumerate(hists):
        assert hist.member(m).loss == pytest.approx(h.loss, abs=1e-10)


def test_shapes_of_forward_and_features(problem):
    x, _ = problem
    ens = Ensemble(nets())
    assert ens(x).shape == (3, 48, 3)
    assert ens(x.unsqueeze(0).expand(3, -1, -1)).shape == (3, 48, 3)
    assert [tuple(h.shape) for h in ens.features(x)] == [(3, 48, 6)] + [(3, 48, 8)] * 3 + [(3, 48, 3)]
    per_member = ens.layer_features(x, batch_size=10)
    assert len(per_member) == 3 and [tuple(h.shape) for h in per_member[0]] == [(48, 6)] + [(48, 8)] * 3 + [(48, 3)]
    with pytest.raises(EnsembleError, match="takes inputs"):
        ens(x.unsqueeze(0).expand(2, -1, -1))


def test_member_is_a_normal_module_copy(problem):
    ens = Ensemble(nets())
    net = ens.member(1)
    assert type(net) is models.MLP
    with torch.no_grad():
        net.layers[0].weight.zero_()
    assert ens.stacked[0][1].abs().sum() > 0
    assert len(ens.unstack()) == 3
    with pytest.raises(EnsembleError, match="member must be in"):
        ens.member(3)


@pytest.mark.parametrize("others, message", [
    (lambda: [models.MLP(6, 8, 4, 3), models.MLP(6, 9, 4, 3)], "other parameter shapes"),
    (lambda: [models.MLP(6, 8, 4, 3), models.MLP(6, 8, 4, 3, output_scale=2.0)], "output_scale"),
    (lambda: [models.MLP(6, 8, 4, 3), torch.nn.Linear(6, 3)], "is a Linear"),
    (lambda: [], "at least one member"),
])
def test_members_that_cannot_share_one_template_are_refused(others, message):
    with pytest.raises(EnsembleError, match=message):
        Ensemble(others())


def test_fit_refuses_what_an_ensemble_cannot_do(problem):
    x, y = problem
    ens = Ensemble(nets())
    with pytest.raises(EnsembleError, match="stop_loss"):
        train.fit(ens, x, y, epochs=1, lr=0.1, stop_loss=0.1, progress=False)
    with pytest.raises(ValueError, match="needs one seed or 3 seeds"):
        train.fit(ens, x, y, epochs=1, lr=0.1, seed=[1, 2], progress=False)
    with pytest.raises(ValueError, match="one int for a single model"):
        train.fit(nets()[0], x, y, epochs=1, lr=0.1, seed=[1, 2], progress=False)
    with pytest.raises(ValueError, match="not an ensemble"):
        train.fit(nets()[0], x, y, epochs=1, lr=0.1, progress=False).member(0)


def test_divergence_names_the_members(problem):
    x, y = problem
    ens = Ensemble(nets(init_scale=1e3))
    with pytest.raises(train.DivergenceError, match="ensemble members"):
        train.fit(ens, x, y, epochs=5, lr=1e3, loss="mse", progress=False)
