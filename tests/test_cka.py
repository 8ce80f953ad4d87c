"""Linear CKA: the feature and Gram forms, the one-pass matrix, the debiased and minibatch estimators."""
import pytest
import torch

from layerwise.metrics.cka import (CKAError, cka_from_grams, cka_matrix, hsic0, hsic1_matrix, hsic1_reference,
                                   linear_cka, minibatch_cka, minibatch_cka_matrix)


def _pair(n=60, p1=7, p2=11, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, p1, generator=gen, dtype=torch.float64) + 3.0
    y = torch.tanh(x @ torch.randn(p1, p2, generator=gen, dtype=torch.float64)) \
        + 0.5 * torch.randn(n, p2, generator=gen, dtype=torch.float64)
    return x, y


def _layers(n=80, widths=(5, 9, 9, 30, 3), seed=1):
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(n, widths[0], generator=gen, dtype=torch.float64)
    out = [h]
    for w in widths[1:]:
        h = torch.relu(h @ torch.randn(h.shape[1], w, generator=gen, dtype=torch.float64)) + 0.1
        out.append(h)
    return out


def _orthogonal(p, seed):
    q, r = torch.linalg.qr(torch.randn(p, p, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


@pytest.mark.parametrize("shape", [(60, 7, 11), (20, 50, 90), (30, 30, 1)])
@pytest.mark.parametrize("debiased", [False, True])
def test_linear_cka_feature_and_gram_forms_agree_to_1e_10(shape, debiased):
    x, y = _pair(*shape)
    feature = linear_cka(x, y, method="feature", debiased=debiased)
    gram = linear_cka(x, y, method="gram", debiased=debiased)
    assert abs(feature - gram) < 1e-10
    assert abs(linear_cka(x, y, debiased=debiased) - feature) < 1e-10


def test_linear_cka_equals_the_hsic_definition_with_centring_matrix():
    x, y = _pair()
    assert linear_cka(x, y) == pytest.approx(cka_from_grams(x @ x.T, y @ y.T), abs=1e-12)


def test_linear_cka_is_invariant_to_orthogonal_transform_and_isotropic_scaling():
    x, y = _pair()
    ref = linear_cka(x, y)
    moved = linear_cka(2.5 * x @ _orthogonal(7, 3), 0.01 * y @ _orthogonal(11, 4))
    assert moved == pytest.approx(ref, abs=1e-12)
    assert linear_cka(x, y, debiased=True) == pytest.approx(
        linear_cka(x @ _orthogonal(7, 5) * 7.0, y, debiased=True), abs=1e-12)


def test_linear_cka_is_not_invariant_to_an_invertible_non_orthogonal_map():
    x, y = _pair()
    stretch = torch.diag(torch.tensor([10.0, 1, 1, 1, 1, 1, 0.1], dtype=torch.float64))
    assert abs(linear_cka(x @ stretch, y) - linear_cka(x, y)) > 1e-3


def test_linear_cka_of_a_representation_with_itself_is_one_and_lies_in_unit_interval():
    x, y = _pair()
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-14)
    assert 0.0 <= linear_cka(x, y) <= 1.0


@pytest.mark.parametrize("method", ["feature", "gram", "auto"])
@pytest.mark.parametrize("debiased", [False, True])
def test_cka_matrix_equals_the_pairwise_linear_cka_values(method, debiased):
    feats = _layers()
    pairwise = torch.tensor([[linear_cka(a, b, debiased=debiased) for b in feats] for a in feats],
                            dtype=torch.float64)
    for block in (7, 256):
        got = cka_matrix(feats, method=method, debiased=debiased, block_size=block)
        assert torch.allclose(got, pairwise, atol=1e-12, rtol=0)
        assert torch.allclose(got, got.T, atol=0, rtol=0) or torch.allclose(got, got.T, atol=1e-15)


def test_cka_matrix_gram_route_handles_equal_widths_with_a_ragged_last_tile():
    feats = [f[:, :9] for f in _layers(n=101, widths=(9, 9, 9, 9))]
    pairwise = torch.tensor([[linear_cka(a, b) for b in feats] for a in feats], dtype=torch.float64)
    assert torch.allclose(cka_matrix(feats, method="gram", block_size=16), pairwise, atol=1e-12)


@pytest.mark.parametrize("n", [4, 5, 23])
def test_debiased_hsic_matches_the_direct_o_n2_formula_on_uncentred_grams(n):
    feats = _layers(n=n, widths=(3, 6, 4))
    raw = [f + 2.0 for f in feats]  # HSIC_1 does not see constant shifts; the reference gets them
    fast = hsic1_matrix(feats)
    for i, a in enumerate(raw):
        for j, b in enumerate(raw):
            assert fast[i, j].item() == pytest.approx(hsic1_reference(a @ a.T, b @ b.T), abs=1e-9, rel=1e-10)


def test_debiased_linear_cka_matches_cka_of_the_direct_estimator():
    x, y = _pair(n=40)
    assert linear_cka(x, y, debiased=True) == pytest.approx(
        cka_from_grams(x @ x.T, y @ y.T, debiased=True), abs=1e-10)


def test_biased_hsic_of_a_gram_with_itself_is_the_squared_frobenius_norm_of_the_centred_gram():
    x, _ = _pair(n=30)
    xc = x - x.mean(0)
    expected = float((xc @ xc.T).pow(2).sum()) / 29 ** 2
    assert hsic0(x @ x.T, x @ x.T) == pytest.approx(expected, rel=1e-12)


def test_minibatch_cka_with_one_batch_of_all_samples_is_the_full_debiased_cka():
    x, y = _pair(n=50)
    assert minibatch_cka(x, y, batch_size=50) == pytest.approx(linear_cka(x, y, debiased=True), abs=1e-12)


def test_minibatch_cka_is_within_0_02_of_full_debiased_cka_and_of_the_population_value():
    # x ~ N(0, I_p), y = x + sigma z: population linear CKA = 1 / (1 + sigma^2) = 0.8
    gen = torch.Generator().manual_seed(0)
    n, p, sigma = 4096, 32, 0.5
    x = torch.randn(n, p, generator=gen, dtype=torch.float64)
    y = x + sigma * torch.randn(n, p, generator=gen, dtype=torch.float64)
    full = linear_cka(x, y, debiased=True)
    mb = minibatch_cka(x, y, batch_size=256, n_epochs=10, seed=1)
    assert abs(mb - full) < 0.02
    assert abs(full - 1 / (1 + sigma ** 2)) < 0.02
    assert abs(mb - 1 / (1 + sigma ** 2)) < 0.02


def test_minibatch_cka_matrix_has_unit_diagonal_and_is_reproducible_by_seed():
    feats = _layers(n=300)
    a = minibatch_cka_matrix(feats, batch_size=64, n_epochs=2, seed=3)
    b = minibatch_cka_matrix(feats, batch_size=64, n_epochs=2, seed=3)
    assert torch.equal(a, b)
    assert torch.allclose(torch.diagonal(a), torch.ones(len(feats), dtype=torch.float64))


def test_cka_accepts_float32_and_trailing_dimensions_and_returns_float64():
    x, y = _pair()
    assert linear_cka(x.float().reshape(60, 7, 1), y.float()) == pytest.approx(linear_cka(x, y), abs=1e-5)
    assert cka_matrix([x.float(), y.float()]).dtype == torch.float64


@pytest.mark.parametrize("call, match", [
    (lambda x, y: linear_cka(x, y[:-1]), "same samples"),
    (lambda x, y: linear_cka(x[:3], y[:3], debiased=True), "n >= 4"),
    (lambda x, y: linear_cka(x, y, method="svd"), "method must be one of"),
    (lambda x, y: linear_cka(x[0], y), "shape \\(n, p\\)"),
    (lambda x, y: cka_matrix([]), "at least one"),
    (lambda x, y: cka_matrix([x, y], block_size=0), "block_size"),
    (lambda x, y: minibatch_cka(x, y, batch_size=3), "batch_size"),
    (lambda x, y: linear_cka(x * float("nan"), y), "NaN"),
])
def test_cka_rejects_bad_input_with_a_message_naming_the_problem(call, match):
    x, y = _pair()
    with pytest.raises(CKAError, match=match):
        call(x, y)
