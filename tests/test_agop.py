"""metrics.gram (chapter 03b): AGOP by torch.func against a per-sample loop, the NFA correlation."""
import pytest
import torch

from layerwise.metrics import gram
from layerwise.models import MLP, SmallCNN


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_batched_agop_equals_the_per_sample_loop_on_a_tiny_net(layer):
    model = MLP(5, 7, 3, 3, activation="tanh", init="torch", seed=0).double()
    x = torch.randn(23, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    fast = gram.agop(model, x, layer, batch_size=10)  # chunks of 10, 10, 3
    torch.testing.assert_close(fast, gram.agop_reference(model, x, layer), rtol=1e-12, atol=1e-14)


def test_agop_of_the_last_layer_input_is_the_readout_gram():
    """f = W_L h + b is linear in h_{L-1}: every J_i = W_L, so AGOP = W_L^T W_L exactly."""
    model = MLP(4, 6, 3, 2, activation="relu", seed=2).double()
    x = torch.randn(9, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    w = model.weights()[-1].detach()
    torch.testing.assert_close(gram.agop(model, x, 2), w.T @ w, rtol=1e-12, atol=1e-14)
    assert gram.nfa_correlations(model, x)[-1] == pytest.approx(1.0, abs=1e-12)


def test_agop_works_through_conv_layers_and_matches_the_loop():
    model = SmallCNN((1, 8, 8), 3, channels=4, seed=0).double()
    x = torch.randn(6, 64, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    for layer in (0, 2):
        torch.testing.assert_close(gram.agop(model, x, layer), gram.agop_reference(model, x, layer),
                                   rtol=1e-12, atol=1e-14)


def test_matrix_correlation_is_scale_invariant_and_one_for_proportional_matrices():
    a = torch.randn(5, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    a = a @ a.T
    assert gram.matrix_correlation(a, 3.5 * a) == pytest.approx(1.0, abs=1e-14)
    assert gram.matrix_correlation(a, -a) == pytest.approx(-1.0, abs=1e-14)
    b = torch.eye(5, dtype=torch.float64)
    assert gram.matrix_correlation(a, b) == pytest.approx(float(a.trace() / (a.norm() * 5 ** 0.5)), rel=1e-12)


def test_psd_square_root_squares_back():
    a = torch.randn(6, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    a = a @ a.T  # rank 4, PSD
    r = gram.psd_power(a, 0.5)
    torch.testing.assert_close(r @ r, a, rtol=1e-10, atol=1e-10)


def test_nfa_correlations_refuse_conv_kernels():
    model = SmallCNN((1, 8, 8), 3, channels=4, seed=0)
    with pytest.raises(gram.GramError, match="fully connected"):
        gram.nfa_correlations(model, torch.randn(4, 64))


def test_path_straightness_is_one_on_a_line_and_below_on_a_detour():
    t = torch.linspace(0, 1, 11, dtype=torch.float64)[:, None]
    line = t * torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    assert gram.path_straightness(line) == pytest.approx(1.0, abs=1e-14)
    corner = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    assert gram.path_straightness(corner) == pytest.approx(2 ** 0.5 / 2, abs=1e-14)
