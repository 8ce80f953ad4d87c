"""Weight-space measures of Assumption 2 (metrics.weights) against hand-built weights with known answers."""
import numpy as np
import pytest
import torch

from layerwise.metrics.weights import (WeightsError, balance_gaps, balancedness, bulk_singular_value_variance,
                                       bulk_singular_values, end_to_end, min_norm_residual, min_norm_solution)
from layerwise.models import MLP


def _frame(rows: int, cols: int, gen: torch.Generator) -> torch.Tensor:
    """A (rows, cols) float64 matrix with orthonormal columns."""
    q, _ = torch.linalg.qr(torch.randn(rows, cols, generator=gen, dtype=torch.float64))
    return q


def _balanced_chain(dims: list[int], seed: int = 0) -> list[torch.Tensor]:
    """W_l = U_l S U_{l-1}^T with shared singular values S: W_{l+1}^T W_{l+1} = W_l W_l^T exactly."""
    gen = torch.Generator().manual_seed(seed)
    r = min(dims)
    s = torch.diag(torch.rand(r, generator=gen, dtype=torch.float64) + 0.5)
    frames = [_frame(d, r, gen) for d in dims]
    return [frames[i + 1] @ s @ frames[i].T for i in range(len(dims) - 1)]


def _data(n: int = 12, d: int = 20, k: int = 3, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    labels = torch.arange(n) % k
    return x, labels


def test_exactly_balanced_factorisation_has_zero_balancedness():
    ws = _balanced_chain([7, 9, 9, 9, 3])  # rectangular first and last layers included
    assert max(balance_gaps(ws)) < 1e-13
    assert balancedness(ws) < 1e-13


def test_balancedness_of_scaled_identities_is_the_closed_form():
    a, b = 0.5, 2.0  # W_1 = a I, W_2 = b I (2x2): gap = |b^2 - a^2| sqrt(2), ||W_1||_F = a sqrt(2)
    ws = [a * torch.eye(2), b * torch.eye(2)]
    assert balance_gaps(ws)[0] == pytest.approx(abs(b * b - a * a) * np.sqrt(2), rel=1e-12)
    assert balancedness(ws) == pytest.approx(abs(b * b - a * a) / a, rel=1e-12)


def test_balancedness_divides_each_gap_by_the_norm_of_the_lower_layer_and_averages():
    gen = torch.Generator().manual_seed(3)
    ws = [torch.randn(5, 4, generator=gen, dtype=torch.float64), torch.randn(6, 5, generator=gen, dtype=torch.float64),
          torch.randn(2, 6, generator=gen, dtype=torch.float64)]
    a = [w.numpy() for w in ws]
    terms = [np.linalg.norm(a[l + 1].T @ a[l + 1] - a[l] @ a[l].T) / np.linalg.norm(a[l]) for l in range(2)]
    assert balancedness(ws) == pytest.approx(np.mean(terms), rel=1e-12)


def test_orthogonal_init_gaps_are_xi_squared_times_root_of_rank_deficits():
    xi, d, h, k = 0.1, 10, 24, 3
    model = MLP(d, h, 4, k, activation="linear", bias=False, init="orthogonal", init_scale=xi, seed=1)
    gaps = balance_gaps(model.weights())
    # W_1 W_1^T = xi^2 P_d, W_2^T W_2 = xi^2 I_h; hidden pairs equal; W_L^T W_L = xi^2 P_K
    assert gaps[0] == pytest.approx(xi ** 2 * np.sqrt(h - d), rel=1e-5)
    assert gaps[1] == pytest.approx(0.0, abs=1e-6) and gaps[2] == pytest.approx(xi ** 2 * np.sqrt(h - k), rel=1e-5)


def test_min_norm_solution_interpolates_and_matches_the_gram_inverse_formula():
    x, labels = _data()
    w = min_norm_solution(x, labels)
    y = torch.nn.functional.one_hot(labels, 3).double()
    assert torch.allclose(x @ w.T, y, atol=1e-12)
    assert torch.allclose(w, y.T @ torch.linalg.inv(x @ x.T) @ x, atol=1e-12)


@pytest.mark.parametrize("alpha", [1.0, 100.0])
def test_min_norm_solution_factorised_into_layers_has_zero_residual(alpha):
    x, labels = _data()
    target = min_norm_solution(x, labels)  # (3, 20)
    gen = torch.Generator().manual_seed(4)
    m = torch.randn(30, 30, generator=gen, dtype=torch.float64) + 6 * torch.eye(30, dtype=torch.float64)
    w1 = torch.randn(30, 20, generator=gen, dtype=torch.float64)
    # W_3 W_2 W_1 = target / alpha with W_1 of full column rank: W_3 = target W_1^+ M^{-1} / alpha
    w3 = target @ torch.linalg.pinv(w1) @ torch.linalg.inv(m) / alpha
    assert min_norm_residual([w1, m, w3], x, labels, alpha=alpha) < 1e-12


def test_a_null_space_component_gives_its_own_norm_as_residual():
    x, labels = _data()
    target = min_norm_solution(x, labels)
    gen = torch.Generator().manual_seed(5)
    m = torch.randn(3, 20, generator=gen, dtype=torch.float64)
    # independent null-space basis of the data rows from NumPy's SVD
    _, _, vt = np.linalg.svd(x.numpy())
    null = vt[x.shape[0]:].T  # (20, 8)
    extra = m.numpy() @ null @ null.T  # interpolates nothing: extra @ x^T = 0
    expected = np.linalg.norm(m.numpy() @ null)
    w = target + torch.from_numpy(extra)
    assert torch.allclose(x @ w.T, x @ target.T, atol=1e-12)
    assert min_norm_residual([w, torch.eye(3, dtype=torch.float64)], x, labels) == pytest.approx(expected, rel=1e-10)


def test_min_norm_residual_accepts_one_hot_targets_and_labels_alike():
    x, labels = _data()
    gen = torch.Generator().manual_seed(6)
    ws = [torch.randn(8, 20, generator=gen), torch.randn(3, 8, generator=gen)]
    y = torch.nn.functional.one_hot(labels, 3).double()
    assert min_norm_residual(ws, x, labels, alpha=2.0) == pytest.approx(min_norm_residual(ws, x, y, alpha=2.0))


def test_end_to_end_multiplies_in_layer_order():
    a, b = torch.randn(4, 3), torch.randn(2, 4)
    assert torch.allclose(end_to_end([a, b]), (b @ a).double())


def _with_singular_values(s: list[float], rows: int, cols: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    r = len(s)
    return _frame(rows, r, gen) @ torch.diag(torch.tensor(s, dtype=torch.float64)) @ _frame(cols, r, gen).T


def test_bulk_variance_pools_the_middle_singular_values_of_all_but_the_last_layer():
    s1 = [5.0, 3.0, 1.0, 0.9, 0.7, 0.1]  # W_1 (8, 6): d = 6, k = 1 keeps sigma_2..sigma_5
    s2 = [4.0, 2.0, 1.5, 1.1, 0.8, 0.3, 0.2, 0.05]  # W_2 (8, 8): keeps sigma_2..sigma_5 as well
    w1, w2 = _with_singular_values(s1, 8, 6, 0), _with_singular_values(s2, 8, 8, 1)
    w3 = torch.randn(2, 8, dtype=torch.float64)
    pooled = np.array(s1[1:5] + s2[1:5])
    assert sorted(bulk_singular_values([w1, w2, w3], k=1).tolist()) == pytest.approx(sorted(pooled), rel=1e-12)
    assert bulk_singular_value_variance([w1, w2, w3], k=1) == pytest.approx(np.var(pooled, ddof=1), rel=1e-10)
    assert bulk_singular_value_variance([w1, w2, w3], k=1, correction=0) == pytest.approx(np.var(pooled), rel=1e-10)
    assert bulk_singular_value_variance([w1, w2, 10 * w3], k=1) == pytest.approx(np.var(pooled, ddof=1), rel=1e-10)


def test_bulk_variance_is_zero_when_the_middle_singular_values_are_equal():
    w1 = _with_singular_values([9.0, 0.1, 0.1, 0.1, 0.1, 0.01], 10, 6, 2)
    w2 = _with_singular_values([7.0] + [0.1] * 9, 10, 10, 3)
    assert bulk_singular_value_variance([w1, w2, torch.randn(3, 10)], k=1) < 1e-28


def test_bulk_variance_at_orthogonal_init_is_zero():
    model = MLP(12, 20, 4, 3, activation="linear", bias=False, init="orthogonal", init_scale=0.1, seed=0)
    assert bulk_singular_value_variance(model.weights(), k=3) < 1e-12


def test_bulk_slice_that_does_not_fit_a_narrow_first_layer_is_rejected():
    with pytest.raises(WeightsError, match="dim - k"):
        bulk_singular_values([torch.randn(4, 10), torch.randn(4, 4), torch.randn(2, 4)], k=2)
    with pytest.raises(WeightsError, match="k must be"):
        bulk_singular_values([torch.randn(12, 10), torch.randn(3, 12)], k=5)


def test_misordered_weights_are_rejected_with_the_layer_named():
    with pytest.raises(WeightsError, match=r"weights\[1\]"):
        balancedness([torch.randn(5, 4), torch.randn(3, 6)])


def test_gradient_descent_leaves_the_data_null_space_part_of_w1_at_its_init():
    """Without weight decay GD never changes W_1 on the orthogonal complement of the data span, so at
    interpolation the residual is exactly alpha ||W_{L:2} W_1(0) P_perp||_F."""
    from layerwise.data import nearly_orthonormal
    from layerwise.train import fit

    data = nearly_orthonormal(4, 3, 20, seed=0)
    model = MLP(20, 32, 3, 3, activation="linear", bias=False, init="orthogonal", init_scale=0.3,
                output_scale=2.0, seed=0).double()
    w1_init = model.weights()[0].detach().clone()
    fit(model, data.x, data.labels, epochs=4000, lr=0.05, loss="mse", stop_loss=1e-20, progress=False)
    x = data.x.double()
    p_perp = torch.eye(20, dtype=torch.float64) - torch.linalg.pinv(x) @ x
    ws = [w.detach() for w in model.weights()]
    assert torch.allclose(ws[0] @ p_perp, w1_init @ p_perp, atol=1e-10)
    predicted = float(torch.linalg.matrix_norm(2.0 * end_to_end(ws[1:]) @ w1_init @ p_perp))
    assert min_norm_residual(ws, data.x, data.labels, alpha=2.0) == pytest.approx(predicted, rel=1e-5)
