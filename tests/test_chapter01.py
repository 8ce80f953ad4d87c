"""Chapter 1's value functions on cases with known answers, and its theory nets against the closed form."""
import numpy as np
import pytest
import torch

from layerwise import params
from layerwise.chapters import ch01
from layerwise.claims import FAIL, PASS, TIE, evaluate_value
from layerwise.metrics import collapse


def test_a_geometric_profile_has_its_rate_and_r2_of_one():
    c = 2.0 * 0.28 ** np.arange(6)
    d = 0.5 + 0.1 * np.arange(6)
    st = ch01.profile_stats(c, d)
    assert st["rate"] == pytest.approx(0.28) and st["r2_log_c"] == pytest.approx(1.0)
    assert st["ratios"] == pytest.approx([0.28] * 5)
    assert st["r2"] == pytest.approx(1.0) and st["last"] == pytest.approx(1.0) and len(st["D"]) == 5


def test_an_untrained_orthogonal_net_fails_both_fig4_tests():
    st = ch01.profile_stats([1.3] * 6, [0.9 + 1e-8 * k for k in (0, 1, -1, 1, 0, 1)])
    assert st["rate"] == pytest.approx(1.0)
    assert evaluate_value({"r2": ">= 0.999", "rate": "< 0.9"}, {"r2": st["r2_log_c"], "rate": st["rate"]}) == FAIL
    assert evaluate_value("increasing", st["D"]) == TIE  # float32 noise of the initial weights reads as a tie
    assert st["r2"] == 0.0  # a flat profile has no rising line


def test_discrimination_of_means_pointing_apart_exceeds_one_only_when_signed():
    # three class means at 120 degrees: every cosine is -1/2
    means = torch.tensor([[1.0, 0.0], [-0.5, 3 ** 0.5 / 2], [-0.5, -(3 ** 0.5) / 2]], dtype=torch.float64)
    z, labels = means.repeat_interleave(2, 0), torch.arange(3).repeat_interleave(2)
    assert collapse.between_class_discrimination(z, labels) == pytest.approx(1.5)
    assert collapse.between_class_discrimination(z, labels, signed=False) == pytest.approx(0.5)


def test_rate_errors_rank_fall_and_decades():
    assert ch01.rate_errors([0.3, 0.27], [0.3, 0.3]) == pytest.approx([0.0, 10.0])
    assert ch01.rank_fall([60, 80, 70, 40, 20]) == pytest.approx(0.75)
    assert ch01.rank_fall([5, 5, 5]) == 0.0
    assert ch01.compression_decades([10.0, 1.0, 0.1]) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        ch01.compression_decades([1.0, 0.0])


def test_net_values_read_the_layers_of_a_constructed_profile():
    rows = [dict(layer=l, rank=r, probe_train=p, C_l=c, D_l=d)
            for l, r, p, c, d in zip(range(1, 8), [50, 90, 80, 60, 40, 30, 9], [0.8, 0.99, 1, 1, 1, 1, 1],
                                     [10, 5, 1, 0.1, 0.01, 0.001, 0.001], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])]
    v = ch01.net_values(rows)
    assert v["probe"] == pytest.approx(0.99) and v["rank_peak"] == 2
    assert v["rank_last_over_max"] == pytest.approx(0.1) and v["rank_fall"] == pytest.approx(0.9)
    assert v["decades"] == pytest.approx(3.0) and v["D_last"] == pytest.approx(0.7)
    assert v["C_last_over_first"] == pytest.approx(1e-4)


def test_theory_ensemble_trains_each_seed_as_alone_and_meets_the_closed_form():
    setting = dict(depth=6, init_scale=0.3, alpha=100.0, n_per_class=10, n_classes=3, dim=50, lr=0.1,
                   epochs=400, stop_loss=1e-11)
    together = ch01.train_theory_seeds([0, 1], **setting)
    alone = ch01.train_theory(seed=1, **setting)
    assert all(r["reached"] for r in together) and alone["reached"]
    assert np.allclose(together[1]["c_untrained"], alone["c_untrained"], rtol=1e-10)
    assert np.allclose(together[1]["c"], alone["c"], rtol=1e-3)  # the ensemble stops a few steps later
    rho = collapse.predicted_compression_rate(0.3, 100.0, 10, 6)
    for r in together:
        ratios = np.asarray(r["c"][1:]) / np.asarray(r["c"][:-1])
        assert abs(ratios[1:].mean() / rho - 1) < 0.05  # the closed form within 5% (measured ~1-3%)
        assert np.allclose(np.asarray(r["c_untrained"][1:]) / np.asarray(r["c_untrained"][:-1]), 1, atol=1e-6)
        assert evaluate_value("increasing", ch01.discrimination_stats(r["d"])["D"]) == PASS


def test_out_of_range_parameters_fail_in_resolve():
    from layerwise import config

    with pytest.raises(params.ConfigError):
        config.resolve("01", "smoke", n_classes=1)
    with pytest.raises(params.ConfigError, match="sweep_seeds"):
        config.resolve("01", "smoke", sweep_seeds=5, n_seeds=3)
