import torch

from layerwise.metrics.probes import linear_probe_accuracy


def test_probe_is_perfect_on_linearly_separable_features():
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(4).repeat_interleave(25)
    z = torch.nn.functional.one_hot(y, 4).double() * 5 + 0.1 * torch.randn(100, 4, generator=gen, dtype=torch.float64)
    assert linear_probe_accuracy(z, y) == 1.0


def test_probe_is_at_chance_on_features_independent_of_labels():
    gen = torch.Generator().manual_seed(1)
    y = torch.arange(2).repeat(2000)
    z_tr = torch.randn(4000, 3, generator=gen, dtype=torch.float64)
    z_te = torch.randn(4000, 3, generator=gen, dtype=torch.float64)
    acc = linear_probe_accuracy(z_tr, y, z_te, y)
    assert abs(acc - 0.5) < 0.04


def test_probe_solves_in_sample_space_when_features_are_wide():
    gen = torch.Generator().manual_seed(2)
    y = torch.arange(3).repeat_interleave(5)
    z = torch.randn(15, 200, generator=gen, dtype=torch.float64)  # d > n: interpolates
    assert linear_probe_accuracy(z, y) == 1.0


def test_probe_accuracy_does_not_depend_on_the_scale_of_the_features():
    gen = torch.Generator().manual_seed(3)
    labels = torch.arange(5).repeat(40)
    z = torch.randn(5, 30, generator=gen)[labels] + 0.8 * torch.randn(200, 30, generator=gen)
    base = linear_probe_accuracy(z, labels)
    assert base > 0.9
    for scale in (1e-6, 1e-3, 1e3):
        assert linear_probe_accuracy(scale * z, labels) == base
