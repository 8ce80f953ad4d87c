"""Chapter 1's verdict helpers on profiles whose answers are known in closed form."""
import numpy as np
import pytest

from layerwise.chapters import ch01
from layerwise.claims import FAIL, PASS, TIE, evaluate_value


def test_a_geometric_profile_has_its_rate_and_r2_of_one():
    c = 2.0 * 0.28 ** np.arange(6)
    d = 0.5 + 0.1 * np.arange(6)
    st = ch01.profile_stats(c, d)
    assert st["rate"] == pytest.approx(0.28) and st["r2_log_c"] == pytest.approx(1.0)
    assert st["ratios"] == pytest.approx([0.28] * 5)
    assert st["r2_d"] == pytest.approx(1.0) and st["d_slope"] == pytest.approx(0.1)


def test_an_untrained_orthogonal_net_has_rate_one_and_tied_discrimination():
    st = ch01.profile_stats([1.3] * 6, [0.9 + 1e-8 * k for k in (0, 1, -1, 1, 0, 1)])
    assert st["rate"] == pytest.approx(1.0)
    claim_test = {"r2": ">= 0.999", "rate": "< 0.9"}
    assert evaluate_value(claim_test, {"r2": st["r2_log_c"], "rate": st["rate"]}) == FAIL
    assert evaluate_value("increasing", st["d"]) == TIE  # float32 noise of the initial weights reads as a tie


def test_rate_errors_are_percent():
    assert ch01.rate_errors([0.3, 0.27], [0.3, 0.3]) == pytest.approx([0.0, 10.0])


def test_rank_and_compression_summaries():
    assert ch01.rank_profile_test([60, 80, 70, 40, 20], 2) == {"from first": [70.0, 40.0, 20.0], "last/max": 0.25}
    assert evaluate_value({"from first": "non-increasing", "last/max": "<= 0.8"},
                          ch01.rank_profile_test([60, 80, 70, 40, 20], 2)) == PASS
    out = ch01.compression_decades([10.0, 1.0, 0.1])
    assert out["decades"] == pytest.approx(2.0) and evaluate_value({"C": "decreasing", "decades": ">= 1.5"}, out) == PASS


def test_profile_stats_rejects_short_or_nonpositive_profiles():
    with pytest.raises(ValueError, match="needs >= 3 layers"):
        ch01.profile_stats([1.0, 0.0, 0.5], [0.1, 0.2, 0.3])
