"""metrics.gram: the Feature Learning Equation, the one-step decomposition, target linearity."""
import numpy as np
import pytest
import torch

from layerwise.metrics import gram
from layerwise.models import MLP


def _mlp(activation, bias, *, depth=4, width=16, in_dim=7, out_dim=3, seed=0, **kw):
    return MLP(in_dim, width, depth, out_dim, activation=activation, bias=bias, init="torch", seed=seed, **kw).double()


def _data(n=40, in_dim=7, k=3, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, in_dim, generator=gen, dtype=torch.float64), torch.randint(0, k, (n,), generator=gen)


@pytest.mark.parametrize("activation", ["tanh", "relu", "gelu"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_feature_learning_equation_holds_per_layer_to_1e12_in_float64(activation, bias, loss):
    x, y = _data()
    res = gram.feature_learning_residual(_mlp(activation, bias), x, y, loss=loss)
    assert len(res) == 4
    assert max(res) <= 1e-12


def test_feature_learning_equation_holds_in_ntk_parametrization_with_output_scale():
    x, y = _data()
    model = MLP(7, 16, 3, 3, activation="gelu", parametrization="ntk", output_scale=0.5, seed=2).double()
    assert max(gram.feature_learning_residual(model, x, y)) <= 1e-12


def test_layer_gradients_match_the_chain_rule_by_hand_on_a_two_layer_net():
    x, y = _data(n=10)
    model = _mlp("tanh", True, depth=2)
    w1, b1 = model.layers[0].weight.detach(), model.layers[0].bias.detach()
    w2, b2 = model.layers[1].weight.detach(), model.layers[1].bias.detach()
    h = torch.tanh(x @ w1.T + b1)
    target = torch.nn.functional.one_hot(y, 3).double()
    delta2 = 2 * (h @ w2.T + b2 - target) / x.shape[0]  # d/dZ of mean_i ||z_i - t_i||^2
    g = gram.layer_gradients(model, x, y)
    torch.testing.assert_close(g[1].grad_weight, delta2.T @ h, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(g[1].grad_h, delta2 @ w2, rtol=1e-12, atol=1e-14)


def test_weight_gram_is_w_transpose_w_on_the_input_space_and_reshapes_conv_kernels():
    w = torch.randn(5, 3, dtype=torch.float64)
    torch.testing.assert_close(gram.weight_gram(w), w.T @ w)
    k = torch.randn(4, 2, 3, 3, dtype=torch.float64)
    g = gram.weight_gram(k)
    assert g.shape == (18, 18)
    torch.testing.assert_close(g, k.reshape(4, 18).T @ k.reshape(4, 18))
    with pytest.raises(gram.GramError, match="2 dimensions"):
        gram.weight_gram(torch.ones(3))


@pytest.mark.parametrize("activation", ["tanh", "relu", "gelu"])
def test_one_step_gram_change_is_vc_change_plus_eta2_term_to_1e12(activation):
    x, y = _data()
    for step in gram.one_step_decomposition(_mlp(activation, True), x, y, lr=0.1):
        assert step.identity_residual <= 1e-12


def test_one_step_gram_change_matches_a_real_gd_step():
    x, y = _data()
    model = _mlp("gelu", True, depth=3)
    steps = gram.one_step_decomposition(model, x, y, lr=0.05)
    before = [gram.weight_gram(w.detach().clone()) for w in model.weights()]
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    from layerwise.train import loss_fn
    loss_fn(model(x), gram.targets_for(model(x), y, "mse"), "mse").backward()
    opt.step()
    for s, g0, w in zip(steps, before, model.weights()):
        torch.testing.assert_close(s.gram_change, gram.weight_gram(w.detach()) - g0, rtol=1e-10, atol=1e-13)


def test_one_step_leftover_is_order_eta_it_halves_when_eta_halves():
    x, y = _data()
    model = _mlp("tanh", True)
    big = gram.one_step_decomposition(model, x, y, lr=1e-2)
    small = gram.one_step_decomposition(model, x, y, lr=5e-3)
    for a, b in zip(big, small):
        assert b.leftover / a.leftover == pytest.approx(0.5, rel=0.1)


def test_full_batch_virtual_covariance_is_the_first_layer_vc_change_of_one_step():
    x, y = _data()
    model = _mlp("relu", True)
    vc = gram.virtual_covariance(model, x, y, lr=0.1)
    assert vc.shape == (7, 7)
    torch.testing.assert_close(vc, gram.one_step_decomposition(model, x, y, lr=0.1)[0].vc_change)
    hidden = gram.virtual_covariance(model, x, y, lr=0.1, layer=2)
    torch.testing.assert_close(hidden, gram.one_step_decomposition(model, x, y, lr=0.1)[2].vc_change)


def test_virtual_covariance_sums_uncentred_second_moment_changes_over_batches():
    x, y = _data(n=30)
    model = _mlp("gelu", True)
    total = gram.virtual_covariance(model, x, y, lr=0.3, batch_size=10)
    parts = sum(gram.virtual_covariance(model, x[i:i + 10], y[i:i + 10], lr=0.3) for i in (0, 10, 20))
    torch.testing.assert_close(total, parts)
    assert model.training  # eval mode was restored
    with pytest.raises(gram.GramError, match="layer must be"):
        gram.virtual_covariance(model, x, y, lr=0.1, layer=4)


def _tl_numpy(h, y, k):
    yc = np.eye(k)[y] - np.eye(k)[y].mean(0)
    b = np.linalg.lstsq(h, yc, rcond=None)[0]
    return 1 - ((yc - h @ b) ** 2).sum() / (yc ** 2).sum()


@pytest.mark.parametrize("n, d", [(200, 30), (30, 200), (64, 64)])
def test_target_linearity_matches_numpy_lstsq_on_random_data(n, d):
    rng = np.random.default_rng(0)
    h, y = rng.normal(size=(n, d)) + 0.5, rng.integers(0, 4, size=n)
    expected = _tl_numpy(h, y, 4)
    got = gram.target_linearity(torch.from_numpy(h), torch.from_numpy(y), n_classes=4)
    assert got == pytest.approx(expected, abs=1e-10)
    assert gram.target_linearity_lstsq(torch.from_numpy(h), torch.from_numpy(y)) == pytest.approx(expected, abs=1e-10)


def test_target_linearity_matches_lstsq_on_rank_deficient_features():
    rng = np.random.default_rng(1)
    h = rng.normal(size=(150, 5)) @ rng.normal(size=(5, 40))  # rank 5 in R^40
    y = rng.integers(0, 3, size=150)
    got = gram.target_linearity(torch.from_numpy(h), torch.from_numpy(y))
    assert got == pytest.approx(_tl_numpy(h, y, 3), abs=1e-9)


def test_target_linearity_feature_and_sample_space_agree():
    rng = np.random.default_rng(2)
    h, y = torch.from_numpy(rng.normal(size=(80, 50))), torch.from_numpy(rng.integers(0, 5, size=80))
    a = gram.target_linearity(h, y, space="feature")
    b = gram.target_linearity(h, y, space="sample")
    assert a == pytest.approx(b, abs=1e-10)
    for r in (1e-3, 10.0):
        assert gram.target_linearity(h, y, ridge=r, space="feature") == pytest.approx(
            gram.target_linearity(h, y, ridge=r, space="sample"), abs=1e-10)


def test_target_linearity_is_one_for_exactly_linear_targets():
    rng = np.random.default_rng(3)
    h = torch.from_numpy(rng.normal(size=(100, 8)))
    h = torch.cat([h, torch.ones(100, 1, dtype=h.dtype)], 1)  # a constant unit absorbs the centring of y
    y = h @ torch.from_numpy(rng.normal(size=(9, 3)))
    assert gram.target_linearity(h, y) == pytest.approx(1.0, abs=1e-12)
    hc = h[:, :8] - h[:, :8].mean(0)  # or centred features and any linear y
    assert gram.target_linearity(hc, hc @ torch.from_numpy(rng.normal(size=(8, 2)))) == pytest.approx(1.0, abs=1e-12)
    # collapsed features: each sample sits at its class mean, means linearly independent
    labels = torch.from_numpy(rng.integers(0, 4, size=100))
    means = torch.from_numpy(rng.normal(size=(4, 12)))
    assert gram.target_linearity(means[labels], labels) == pytest.approx(1.0, abs=1e-12)


def test_target_linearity_is_zero_for_features_orthogonal_to_the_targets():
    labels = torch.tensor([0, 1] * 20)
    h = torch.ones(40, 1, dtype=torch.float64)  # the constant feature carries no centred target
    assert gram.target_linearity(h, labels) == pytest.approx(0.0, abs=1e-12)


def test_target_linearity_ridge_is_the_papers_regularised_projection():
    rng = np.random.default_rng(4)
    h, y = rng.normal(size=(60, 10)), rng.integers(0, 3, size=60)
    yc = np.eye(3)[y] - np.eye(3)[y].mean(0)
    r = 0.7
    fit = h @ np.linalg.solve(h.T @ h + r * np.eye(10), h.T @ yc)
    expected = 1 - ((yc - fit) ** 2).sum() / (yc ** 2).sum()
    got = gram.target_linearity(torch.from_numpy(h), torch.from_numpy(y), ridge=r)
    assert got == pytest.approx(expected, abs=1e-12)


def test_target_linearity_rejects_bad_arguments():
    h = torch.randn(10, 3)
    with pytest.raises(gram.GramError, match="rows"):
        gram.target_linearity(h, torch.zeros(9, dtype=torch.long))
    with pytest.raises(gram.GramError, match="all zero"):
        gram.target_linearity(h, torch.zeros(10, dtype=torch.long))
    with pytest.raises(gram.GramError, match="space"):
        gram.target_linearity(h, torch.arange(10) % 2, space="gram")


def test_gram_surrogate_is_the_trace_with_the_next_weight_gram():
    rng = np.random.default_rng(5)
    h, w = rng.normal(size=(50, 6)), rng.normal(size=(4, 6))
    y = rng.integers(0, 3, size=50)
    yc = np.eye(3)[y] - np.eye(3)[y].mean(0)
    expected = np.trace(yc.T @ h @ (w.T @ w) @ h.T @ yc) / 3
    got = gram.gram_surrogate(torch.from_numpy(h), torch.from_numpy(w), torch.from_numpy(y))
    assert got == pytest.approx(expected, rel=1e-12)


def test_model_target_linearity_covers_the_hidden_layers():
    x, y = _data(n=50)
    tl, sur = gram.model_target_linearity(_mlp("gelu", True, depth=5), x, y, n_classes=3)
    assert len(tl) == len(sur) == 4
    assert all(0 <= t <= 1 for t in tl) and all(s >= 0 for s in sur)
