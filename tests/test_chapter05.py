"""Chapter 05: its parameter checks, and its `paper` code path on tiny stand-in data."""
import pytest

from layerwise import book, config
from layerwise.io import read_json


@pytest.mark.parametrize("params, match", [
    (dict(class_counts=[1, 10]), "class_counts"),
    (dict(ood_train_classes=9), "ood_train_classes"),
    (dict(early_fraction=1.0), "early_fraction"),
    (dict(cs_depths=[1, 3]), "cs_depths"),
    (dict(depth=2), "depth must be >= 3"),
    (dict(cs_core_strengths=[0.1, -1.0]), "cs_core_strengths"),
    (dict(ntk_n_kernel=3), "ntk_n_kernel"),
    (dict(min_probe_gain=1.5), "min_probe_gain"),
    (dict(hmm_seeds=0), "hmm_seeds"),
])
def test_chapter05_rejects_unusable_parameters_by_name(params, match, tmp_path):
    with pytest.raises(config.ConfigError, match=match):
        config.resolve("05", "book", results_dir=tmp_path, **params)


def test_chapter05_paper_preset_code_path_runs_on_tiny_fake_data(book_copy, tmp_path):
    params = dict(dataset="fake", n_train=200, n_measure=100, width=16, depth=4, compare_depth=3, epochs=1,
                  n_seeds=1, class_counts=[2, 10], mb_epochs=1, cs_depths=[2, 3], cs_width=16, cs_n_train=100,
                  cs_epochs=2, cs_seeds=1, ntk_depths=[2, 3, 4], ntk_width=16, ntk_n_train=60, ntk_n_kernel=20,
                  ntk_epochs=2, ntk_seeds=1, hmm_depth=3, hmm_width=16, hmm_n_train=100, hmm_ambient_dim=50,
                  hmm_epochs=2, hmm_seeds=1)
    result = book.run_chapter("05", preset="paper", params=params, output=tmp_path / "paper", device="cpu",
                              root=book_copy, progress=False)
    assert result.ok, result.error
    ledger = read_json(result.output / "claims.json")
    assert ledger["preset"] == "paper" and ledger["params"]["weight_decay"] == 5e-4
    assert len(ledger["claims"]) >= 22 and len(ledger["sanity"]) == 3
    assert all(c["verdict"] == "inconclusive" for c in ledger["claims"])  # one seed: never a verdict


# --- the helpers that decide chapter 05's verdicts, on constructed cases ---

from layerwise.chapters import ch05  # noqa: E402


def test_a_network_whose_input_is_already_separable_has_no_tunnel():
    # digits-like: the raw input probes at 0.94, the best layer at 0.97, l* = 1
    assert not ch05.has_tunnel(1, 0.94, [0.96, 0.97, 0.97], min_gain=0.1)
    # l* > 1 but the layers barely beat the input: still no tunnel to speak of
    assert not ch05.has_tunnel(3, 0.90, [0.85, 0.88, 0.95], min_gain=0.1)


def test_a_network_whose_probe_rises_to_its_last_layer_has_no_tunnel():
    # l* is the last hidden layer: nothing follows it
    assert not ch05.has_tunnel(4, 0.23, [0.40, 0.45, 0.50, 0.55], min_gain=0.1)


def test_a_network_that_builds_separability_over_layers_has_a_tunnel():
    # MNIST-1D-like: input 0.23, probes rise to 0.62 at layer 7, flat after
    probe = [0.40, 0.46, 0.50, 0.53, 0.55, 0.59, 0.61, 0.60, 0.61, 0.62, 0.62]
    assert ch05.has_tunnel(7, 0.23, probe, min_gain=0.1)


def test_best_interior_ignores_the_ends_of_the_curve():
    assert ch05.best_interior([10, 3, 7, 5, 20]) == 2
    assert ch05.best_interior([1, 4, 4, 2]) == 1  # first on ties
    with pytest.raises(ValueError):
        ch05.best_interior([1, 2])


def test_peak_margin_is_positive_only_for_a_strict_local_peak():
    assert ch05.peak_margin([1, 5, 3], 1) == 2.0
    assert ch05.peak_margin([1, 5, 5], 1) == 0.0  # a plateau is not a peak
    assert ch05.peak_margin([1, 2, 8], 1) == -6.0  # a curve rising to its end has no interior peak
    with pytest.raises(ValueError):
        ch05.peak_margin([1, 5, 3], 0)


def test_tunnel_lengths_are_ordered_by_class_count():
    assert ch05.tunnel_lengths({10: 7, 2: 3, 5: 5}, 12) == [9, 7, 5]
