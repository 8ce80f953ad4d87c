"""Chapter 7's value functions on small cases with known answers."""
import numpy as np
import pytest

from layerwise import lenses
from layerwise.chapters import ch07_runs as R
from layerwise.metrics.landmarks import stability_band


def band(*layers):
    return stability_band(list(layers), max_width=1)


def test_two_landmarks_agree_when_their_bands_overlap():
    assert R.bands_overlap(band(3, 4), band(4, 6))
    assert R.bands_overlap(band(5), band(2, 7))
    assert not R.bands_overlap(band(1, 2), band(3, 5))
    assert R.bands_overlap(None, band(3)) is None


def test_middle_band_is_the_middle_hidden_layer_of_hidden_layers_one_to_l_minus_one():
    assert [R.middle_band(d).lo for d in (6, 10, 16)] == [3, 5, 8]
    assert R.middle_band(7).width == 0


def test_agreement_table_counts_overlaps_over_nets_and_skips_missing_landmarks():
    nets = [{"a": band(1), "b": band(1, 2)}, {"a": band(5), "b": band(2, 3)}, {"a": band(4)}]
    table = R.agreement_table(nets, ["a", "b"])
    assert table[0, 1] == table[1, 0] == 0.5  # the third net has no "b"
    assert table[0, 0] == table[1, 1] == 1.0


def _lenses(probe, map_r2, map_r2_within, depth=6):
    nan = np.nan
    prof = {"probe": np.array(probe, float), "map_r2": np.array([nan, *map_r2]),
            "map_r2_within": np.array([nan, *map_r2_within]), "C": np.ones(depth + 1)}
    return lenses.Lenses(depth, prof, np.eye(depth + 1), 1.0, 1.0)


def test_probe_tunnel_starts_where_the_probe_saturates_and_averages_maps_on_each_side():
    # depth 6: hidden layers 1..5; probe saturates (>= 98% of the best) at layer 3
    lz = _lenses([0.3, 0.5, 0.8, 0.99, 1.0, 1.0, 1.0], [0.1, 0.2, 0.3, 0.9, 0.95, 0.0],
                 [0.1, 0.4, 0.6, 0.7, 0.9, 0.0])
    t = R.probe_tunnel(lz)
    assert t["start"] == 3 and t["length"] == 3
    assert t["r2_tunnel"] == pytest.approx((0.9 + 0.95) / 2)  # maps into layers 4, 5
    assert t["r2_within_tunnel"] == pytest.approx(0.8)
    assert t["r2_within_extractor"] == pytest.approx(0.5)  # maps into layers 2, 3


def test_adjacent_cka_and_linearity_points_read_consecutive_hidden_layers():
    lz = _lenses([0.5] * 7, [0.5] * 6, [0.4] * 6)
    lz.cka[1, 2], lz.cka[2, 3], lz.cka[3, 4], lz.cka[4, 5] = 0.2, 0.3, 0.4, 0.5
    assert R.adjacent_cka(lz).tolist() == [0.2, 0.3, 0.4, 0.5]
    pts = R.linearity_points(lz, start=3)
    assert [p["part"] for p in pts] == ["extractor", "extractor", "tunnel", "tunnel"]
    assert pts[0]["layer"] == 2 and pts[0]["adjacent CKA"] == 0.2


def test_pinned_landmarks_sit_at_two_adjacent_layers_in_every_trained_net():
    pins = R.pinned({"onset": [1, 2, 1], "peak": [3, 5, 4], "rank": [1, 1]},
                    {"onset": [1, 2], "peak": [3, 5], "rank": [2, 2]})
    assert pins == {"onset": True, "peak": False, "rank": True}


def test_deeper_values_pair_hardest_and_easiest_task_per_depth_and_seed():
    out = R.deeper_values({(6, 0): {2: 3, 8: 4, 32: 5}, (10, 1): {32: 4, 2: 6}})
    assert out == {"L=6 #0": 2.0, "L=10 #1": -2.0}


def test_defined_keeps_finite_values_or_fails_every_net_when_none_is():
    assert R.defined({"a": 0.5, "b": float("nan"), "c": None}) == {"a": 0.5}
    assert R.defined({"a": float("nan")}, otherwise=-1.0) == {"a": -1.0}
    assert R.layer_range([3, None, 1]) == "1-3" and R.layer_range([None]) == "none"


def test_answer_names_the_best_moving_pair_flags_pinned_ones_and_the_middle_guess():
    names = ["A", "B", "C", "tunnel start"]
    agree = np.array([[1, 0.9, 0.2, 0.3], [0.9, 1, 0.1, 0.6], [0.2, 0.1, 1, 0.4], [0.3, 0.6, 0.4, 1]])
    text = R.answer(agree, names, {"A": True, "B": True, "C": False, "tunnel start": False}, 45,
                    {"tunnel start": 0.5})
    assert "the C and the tunnel start agree most often (40% of nets)" in text
    assert "The A and the B agree in 90% of nets, but both sit" in text
    assert "the best lens is the B (60%)" in text and "agrees in 50%" in text


def test_threshold_explorer_binds_a_slider_and_filters_the_tunnel_start_by_it():
    rows = [dict(net="n", landmark="rank peak", layer=2, threshold=None),
            dict(net="n", landmark="tunnel start", layer=4, threshold=85),
            dict(net="n", landmark="tunnel start", layer=5, threshold=90)]
    spec = R.threshold_explorer(rows, [85, 90], 90).to_dict()
    assert spec["params"][0]["bind"]["input"] == "range"
    assert {"filter": "(datum.threshold === cka)"} in spec["transform"]
    data = next(iter(spec["datasets"].values()))
    assert len(data) == 4  # the fixed landmark repeated at both thresholds, the tunnel start once each
