"""Special layers read off constructed profiles with known answers; layer-map linearity R^2."""
import numpy as np
import pytest
import torch

from layerwise.metrics import landmarks
from layerwise.metrics.cka import cka_matrix
from layerwise.metrics.landmarks import LandmarkError


def test_peak_layer_returns_the_first_maximum_in_the_given_numbering():
    assert landmarks.peak_layer([0.1, 0.5, 0.3, 0.5]) == 1
    assert landmarks.peak_layer([0.1, 0.5, 0.3, 0.5], layers=[1, 2, 3, 4]) == 2


def test_saturation_layer_is_the_first_layer_within_five_percent_of_the_last():
    tl = [0.2, 0.5, 0.80, 0.86, 0.9, 0.88, 0.9]  # 0.86 is within 5% of 0.9 (>= 0.855), 0.80 is not
    assert landmarks.saturation_layer(tl, layers=range(1, 8)) == 4
    assert landmarks.saturation_layer(tl, layers=range(1, 8), rel=0.0) == 5


def test_saturation_of_a_constant_profile_is_its_first_layer():
    assert landmarks.saturation_layer([0.7] * 5, layers=range(3, 8)) == 3


def test_compression_onset_is_the_last_layer_near_the_peak_of_c():
    c = [10.0, 10.2, 9.5, 9.3, 5.0, 2.0, 1.0]  # 9.3 >= 0.9 * 10.2 = 9.18, 5.0 is not
    assert landmarks.compression_onset(c) == 3
    assert landmarks.compression_onset(c, tol=0.0) == 1
    assert landmarks.compression_onset([8.0, 4.0, 2.0, 1.0], layers=[1, 2, 3, 4]) == 1


def test_geometric_profile_has_log_linear_r2_one_and_its_ratio():
    c = 3.0 * 0.7 ** np.arange(6)
    r2, ratio = landmarks.log_linear_r2(c, layers=range(4, 10))
    assert r2 == pytest.approx(1.0, abs=1e-12) and ratio == pytest.approx(0.7, rel=1e-12)
    assert np.isnan(landmarks.log_linear_r2([1.0, 0.5])[0])


def _block_cka(size, start, inside=0.95, outside=0.5):
    m = np.full((size, size), outside)
    m[start:, start:] = inside
    np.fill_diagonal(m, 1.0)
    return m


def test_tunnel_start_finds_the_final_high_cka_block():
    m = _block_cka(8, 5)
    assert landmarks.tunnel_start(rule="cka", cka=m) == 5
    assert landmarks.tunnel_start(range(1, 9), rule="cka", cka=m) == 6
    assert landmarks.tunnel_start(rule="cka-block", cka=m) == 5


def test_tunnel_start_without_a_tunnel_is_the_last_layer():
    m = _block_cka(6, 5, outside=0.3)
    assert landmarks.tunnel_start(rule="cka", cka=m, threshold=0.9) == 5


def test_block_rule_is_never_earlier_than_the_last_layer_rule():
    # layers 2 and 3 both resemble the last layer but not each other
    m = _block_cka(6, 4)
    m[2, 5] = m[5, 2] = m[3, 5] = m[5, 3] = 0.95
    m[2, 4] = m[4, 2] = m[3, 4] = m[4, 3] = 0.95  # ... and layers 3..5 form a block; 2 and 3 differ
    assert landmarks.tunnel_start(rule="cka", cka=m) == 2
    assert landmarks.tunnel_start(rule="cka-block", cka=m) == 3


def test_tunnel_start_on_real_features_with_a_linear_tail():
    gen = torch.Generator().manual_seed(0)
    head = [torch.randn(200, 20, generator=gen) for _ in range(3)]  # unrelated layers
    base = torch.randn(200, 20, generator=gen)
    q, _ = torch.linalg.qr(torch.randn(20, 20, generator=gen))
    tail = [base, base @ q, 2 * base @ q.T]  # orthogonal maps and scalings: CKA exactly 1
    assert landmarks.tunnel_start(rule="cka", cka=cka_matrix(head + tail)) == 3


def test_probe_rule_is_the_first_layer_reaching_98_percent_of_the_best_probe():
    probe = [0.50, 0.80, 0.97, 0.99, 1.00, 0.99]
    assert landmarks.tunnel_start(rule="probe", probe=probe) == 3  # 0.98: layer 2 (0.97) misses
    assert landmarks.tunnel_start(rule="probe", probe=probe, fraction=0.9) == 2
    assert landmarks.tunnel_start(range(1, 7), rule="probe", probe=probe) == 4


def test_rank_rule_is_the_first_layer_from_which_the_rank_never_rises():
    assert landmarks.tunnel_start(rule="rank", rank=[10, 40, 60, 30, 30, 20]) == 2
    assert landmarks.tunnel_start(range(1, 7), rule="rank", rank=[10, 40, 60, 30, 35, 20]) == 5
    assert landmarks.tunnel_start(rule="rank", rank=[50, 40, 30]) == 0
    assert landmarks.tunnel_start(rule="rank", rank=[1, 2, 3]) == 2  # rising to the end: no tunnel


def test_the_rules_disagree_on_a_constructed_net_and_each_gives_its_own_answer():
    probe = [0.3, 0.9, 0.99, 1.0, 1.0, 1.0]
    rank = [20, 60, 50, 40, 40, 30]
    cka = _block_cka(6, 4)
    got = {rule: landmarks.tunnel_start(rule=rule, probe=probe, rank=rank, cka=cka)
           for rule in landmarks.TUNNEL_RULES}
    assert got == {"probe": 2, "cka": 4, "cka-block": 4, "rank": 1}


def test_a_rule_without_its_profile_is_a_clear_error():
    with pytest.raises(landmarks.LandmarkError, match="needs the cka matrix"):
        landmarks.tunnel_start(rule="cka", probe=[1.0])


def test_half_gain_epoch_and_a_curve_that_never_gains():
    assert landmarks.half_gain_epoch([0, 5, 10, 15], [0.0, 0.2, 0.6, 1.0]) == 10
    assert landmarks.half_gain_epoch([0, 5, 10], [0.5, 0.75, 1.0]) == 5  # exactly half counts
    assert landmarks.half_gain_epoch([0, 5, 10], [1.0, 0.8, 0.9]) is None
    assert landmarks.half_gain_epoch([0, 5, 10], [0.5, 0.5, 0.5]) is None


def test_map_linearity_of_an_affine_map_is_one_and_of_relu_is_less():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(500, 8, generator=gen, dtype=torch.float64)
    w = torch.randn(8, 6, generator=gen, dtype=torch.float64)
    assert landmarks.map_linearity(x, x @ w + 3.0, ridge=0.0) == pytest.approx(1.0, abs=1e-12)
    assert landmarks.map_linearity(x, torch.relu(x @ w)) < 0.9


def test_map_linearity_matches_an_independent_lstsq_fit():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(300, 5, generator=gen, dtype=torch.float64)
    y = torch.tanh(x @ torch.randn(5, 4, generator=gen, dtype=torch.float64))
    design = torch.cat([x, torch.ones(300, 1, dtype=x.dtype)], 1)
    resid = y - design @ torch.linalg.lstsq(design, y).solution
    expected = 1 - float(resid.pow(2).sum() / (y - y.mean(0)).pow(2).sum())
    assert landmarks.map_linearity(x, y, ridge=0.0) == pytest.approx(expected, abs=1e-12)


def test_map_linearity_solved_in_sample_space_equals_feature_space():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(40, 60, generator=gen, dtype=torch.float64)  # d > n: the (n, n) route
    y = torch.randn(40, 3, generator=gen, dtype=torch.float64)
    xt, yt = torch.randn(30, 60, generator=gen, dtype=torch.float64), torch.randn(30, 3, generator=gen, dtype=torch.float64)
    r_sample = landmarks.map_linearity(x, y, xt, yt, ridge=1e-3)
    # the feature-space route on the same problem, by padding n above d with zero-weight copies is not
    # possible; solve the ridge system directly instead
    xc, yc = x - x.mean(0), y - y.mean(0)
    lam = 1e-3 * float(xc.pow(2).sum()) / 60
    b = torch.linalg.solve(xc.T @ xc + lam * torch.eye(60, dtype=xc.dtype), xc.T @ yc)
    e = (yt - y.mean(0)) - (xt - x.mean(0)) @ b
    expected = 1 - float(e.pow(2).sum() / (yt - y.mean(0)).pow(2).sum())
    assert r_sample == pytest.approx(expected, abs=1e-10)


def test_in_sample_fit_explains_noise_that_held_out_scoring_does_not():
    gen = torch.Generator().manual_seed(4)
    x, y = torch.randn(300, 150, generator=gen), torch.randn(300, 10, generator=gen)
    xt, yt = torch.randn(300, 150, generator=gen), torch.randn(300, 10, generator=gen)
    assert landmarks.map_linearity(x, y) > 0.4  # about d / n of pure noise
    assert landmarks.map_linearity(x, y, xt, yt) < 0.0


def test_layerwise_map_linearity_has_one_value_per_consecutive_pair():
    gen = torch.Generator().manual_seed(5)
    feats = [torch.randn(100, 4, generator=gen)]
    for _ in range(3):
        feats.append(feats[-1] @ torch.randn(4, 4, generator=gen))
    r2 = landmarks.layerwise_map_linearity(feats)
    assert len(r2) == 3 and min(r2) > 0.999999


@pytest.mark.parametrize("call", [
    lambda: landmarks.peak_layer([]),
    lambda: landmarks.peak_layer([1.0, float("nan")]),
    lambda: landmarks.saturation_layer([1.0, 2.0], layers=[1]),
    lambda: landmarks.compression_onset([1.0], tol=1.0),
    lambda: landmarks.tunnel_start(rule="cka", cka=np.ones((2, 3))),
    lambda: landmarks.tunnel_start(rule="first", cka=np.ones((2, 2))),
    lambda: landmarks.map_linearity(torch.ones(3, 2), torch.ones(4, 2)),
    lambda: landmarks.map_linearity(torch.ones(3, 2), torch.ones(3, 2), torch.ones(3, 2)),
    lambda: landmarks.log_linear_r2([1.0, 0.0, 2.0]),
])
def test_bad_inputs_raise_landmark_errors(call):
    with pytest.raises(LandmarkError):
        call()


def test_a_map_between_collapsed_layers_is_affine_but_its_within_class_part_need_not_be():
    gen = torch.Generator().manual_seed(6)
    labels = torch.arange(300) % 3
    means = torch.randn(3, 10, generator=gen, dtype=torch.float64) * 10
    x = means[labels] + 0.01 * torch.randn(300, 10, generator=gen, dtype=torch.float64)
    y = torch.relu(x @ torch.randn(10, 10, generator=gen, dtype=torch.float64)) + x.pow(2)
    assert landmarks.map_linearity(x, y) > 0.99
    within = landmarks.map_linearity(landmarks.class_centred(x, labels), landmarks.class_centred(y, labels))
    assert within < 0.9
    assert landmarks.class_centred(x, labels)[labels == 1].mean(0).abs().max() < 1e-12


def test_map_linearity_survives_dead_units():
    gen = torch.Generator().manual_seed(7)
    x = torch.relu(torch.randn(200, 6, generator=gen, dtype=torch.float64))
    x[:, 2] = 0.0  # a dead unit: the Gram is singular
    y = x @ torch.randn(6, 3, generator=gen, dtype=torch.float64)
    assert landmarks.map_linearity(x, y, ridge=0.0) == pytest.approx(1.0, abs=1e-10)
    assert landmarks.map_linearity(x[:4], y[:4], ridge=0.0) == pytest.approx(1.0, abs=1e-10)  # d > n
