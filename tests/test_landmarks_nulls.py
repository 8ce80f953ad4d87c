"""The null landmarks of metrics.landmarks: the middle layer and the two peak margins (known answers)."""
import pytest

from layerwise.metrics import landmarks
from layerwise.metrics.landmarks import LandmarkError


def test_middle_layer_of_weight_layers_is_one_plus_half_the_hidden_layers():
    # an MLP with L hidden layers has weight layers 1..L+1 (chapter 4): the middle is 1 + L/2
    assert landmarks.middle_layer(range(1, 12)) == 6.0  # L = 10
    assert landmarks.middle_layer(range(1, 5)) == 2.5  # L = 3: fractional
    assert landmarks.middle_layer(range(1, 52)) == 26.0


def test_middle_hidden_layer_rounded_down_matches_depth_floor_half():
    # hidden layers 1..depth-1 of an MLP with `depth` weight matrices (chapter 7): depth // 2
    for depth in (3, 6, 7, 10, 16):
        assert landmarks.middle_layer(range(1, depth), integer=True) == depth // 2
    assert landmarks.middle_layer([4]) == 4.0 and landmarks.middle_layer([4], integer=True) == 4


def test_middle_layer_refuses_empty_or_unsorted_layers():
    with pytest.raises(LandmarkError, match="no layers"):
        landmarks.middle_layer([])
    with pytest.raises(LandmarkError, match="increasing"):
        landmarks.middle_layer([3, 2, 1])


def test_interior_peak_margin_is_signed():
    assert landmarks.interior_peak_margin([0.1, 0.3, 0.5, 0.2]) == pytest.approx(0.3)  # rises 0.3 above both ends
    # the peak at an end: negative, by how much the best interior layer falls short (not a flat 0)
    assert landmarks.interior_peak_margin([0.5, 0.3, 0.1]) == pytest.approx(-0.2)
    assert landmarks.interior_peak_margin([0.1, 0.2, 0.2, 0.6]) == pytest.approx(-0.4)
    assert landmarks.interior_peak_margin([0.2, 0.2, 0.2]) == 0.0  # a flat profile: a tie
    assert landmarks.interior_peak_margin([0.1, 0.3, 0.5, 0.2], layers=[1, 2, 3, 4]) == pytest.approx(0.3)


def test_interior_peak_margin_needs_two_ends_and_an_interior():
    with pytest.raises(LandmarkError, match=">= 3 layers"):
        landmarks.interior_peak_margin([0.1, 0.2])
    with pytest.raises(LandmarkError, match="NaN"):
        landmarks.interior_peak_margin([0.1, float("nan"), 0.2])


def test_neighbour_margin_is_a_layer_against_its_two_neighbours():
    assert landmarks.neighbour_margin([1, 5, 3], 1) == 2.0
    assert landmarks.neighbour_margin([1, 5, 5], 1) == 0.0  # a plateau is not a peak
    assert landmarks.neighbour_margin([1, 2, 8], 1) == -6.0  # still rising past the layer
    assert landmarks.neighbour_margin([1, 5, 3], 2, layers=[1, 2, 3]) == 2.0  # in the caller's numbering
    for bad in (0, 2, 7):
        with pytest.raises(LandmarkError, match="interior layer"):
            landmarks.neighbour_margin([1, 5, 3], bad)
