"""The closed-form compression rate xi^2 alpha^(2/L) n^(-1/L) (metrics.collapse.predicted_compression_rate)."""
import math

import pytest

from layerwise.metrics.collapse import predicted_compression_rate


def test_rate_of_the_theory_notebook_setting_is_0_285():
    # note 01: xi = 0.3, alpha = 100, n = 10, L = 6 -> predicted 0.285 (measured 0.280-0.290)
    assert predicted_compression_rate(0.3, 100.0, 10, 6) == pytest.approx(0.2846, abs=5e-4)


def test_rate_at_alpha_one_is_xi_squared_over_n_to_the_one_over_l():
    # the project page's 6-layer figure: 0.3^2 / 10^(1/6) = 0.0613
    assert predicted_compression_rate(0.3, 1.0, 10, 6) == pytest.approx(0.09 / 10 ** (1 / 6), rel=1e-12)
    assert predicted_compression_rate(0.3, 1.0, 10, 6) == pytest.approx(0.0613, abs=1e-4)


def test_rate_is_xi_squared_over_top_singular_value_squared():
    xi, alpha, n, depth = 0.1, 7.0, 20, 5
    top = (math.sqrt(n) / alpha) ** (1 / depth)  # top-K singular value of every balanced min-norm W_l
    assert predicted_compression_rate(xi, alpha, n, depth) == pytest.approx((xi / top) ** 2, rel=1e-12)


@pytest.mark.parametrize("args", [(0.0, 1.0, 10, 5), (0.1, -1.0, 10, 5), (0.1, 1.0, 0, 5), (0.1, 1.0, 10, 0)])
def test_rate_rejects_non_positive_arguments(args):
    with pytest.raises(ValueError):
        predicted_compression_rate(*args)
