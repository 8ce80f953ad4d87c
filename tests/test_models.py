import pytest
import torch

from layerwise.models import MLP, ModelError


def test_features_are_input_hidden_and_output():
    net = MLP(5, 7, 4, 3, seed=0)
    x = torch.randn(11, 5)
    feats = net.features(x)
    assert [f.shape for f in feats] == [(11, 5), (11, 7), (11, 7), (11, 7), (11, 3)]
    assert torch.equal(feats[0], x)
    assert torch.allclose(feats[-1], net(x))


def test_orthogonal_init_follows_wang_et_al():
    net = MLP(8, 16, 4, 3, activation="linear", bias=False, init="orthogonal", init_scale=0.3, seed=0).double()
    w1, w2, _, w4 = net.weights()
    eye = lambda n: torch.eye(n, dtype=torch.float64)  # noqa: E731
    assert torch.allclose(w1.T @ w1, 0.09 * eye(8), atol=1e-6)  # semi-orthogonal, orthonormal columns
    assert torch.allclose(w2 @ w2.T, 0.09 * eye(16), atol=1e-6)
    assert torch.allclose(w4[:, :3] @ w4[:, :3].T, 0.09 * eye(3), atol=1e-6)  # [Q_K, 0]
    assert torch.count_nonzero(w4[:, 3:]) == 0


def test_hybrid_net_has_linear_tail_and_output_multiplier():
    net = MLP(4, 6, 5, 2, nonlinear_layers=2, output_scale=100.0, seed=0)
    assert net.nonlinear == [True, True, False, False, False]
    plain = MLP(4, 6, 5, 2, nonlinear_layers=2, output_scale=1.0, seed=0)
    x = torch.randn(3, 4)
    assert torch.allclose(net(x), 100 * plain(x))


def test_ntk_parametrization_scales_standard_normal_weights():
    net = MLP(100, 100, 2, 1, parametrization="ntk", init_scale=1.0, activation="tanh", seed=0)
    assert net.weight_multipliers[0] == pytest.approx(0.1)
    assert net.layers[0].weight.std().item() == pytest.approx(1.0, rel=0.05)


def test_same_seed_same_weights():
    a, b = MLP(3, 4, 3, 2, seed=7), MLP(3, 4, 3, 2, seed=7)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("kwargs, message", [
    (dict(depth=0), "depth must be an integer >= 1"),
    (dict(width=0), "width must be an integer >= 1"),
    (dict(activation="swish"), "activation must be one of"),
    (dict(init="xavier"), "init must be one of"),
    (dict(nonlinear_layers=5), "nonlinear_layers must be in"),
])
def test_bad_model_arguments_are_rejected(kwargs, message):
    args = dict(in_dim=3, width=4, depth=3, out_dim=2) | kwargs
    with pytest.raises(ModelError, match=message):
        MLP(**args)
