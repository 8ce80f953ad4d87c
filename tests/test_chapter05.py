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
