"""Chapter 2's paper-preset code path (CIFAR-10 transfer, 10 seeds, every width) on tiny stand-in data."""
from layerwise import book, config
from layerwise.io import read_json

TINY = dict(dataset="fake", n_train=200, net_width=16, net_epochs=2, n_probe_per_class=2, n_probe_draws=1,
            head_depths=[1, 2], n_seeds=1, sweep_depths=[2], width=60, sweep_widths=[60], depth=2, epochs=300,
            stop_loss=1e-3, rate_epochs=40, rate_init_scales=[0.5], rate_weight_decays=[1e-2], decay_epochs=5,
            rate_activations=["relu"], nonlinear_epochs=5)


def test_paper_preset_is_the_papers_fig6_grid():
    table = config.preset_table("02", "paper")
    assert table["n_seeds"] == 10 and table["sweep_widths"] == [200, 300, 400, 500, 600, 700]
    assert table["sweep_depths"] == [2, 3, 4, 5] and table["init_scale"] == 0.1 and table["stop_loss"] == 1e-10


def test_chapter02_paper_code_path_runs_on_fake_images(book_copy, tmp_path):
    result = book.run_chapter("02", preset="paper", params=TINY, output=tmp_path / "paper", device="cpu",
                              root=book_copy, progress=False)
    assert result.ok, result.error
    ledger = read_json(result.output / "claims.json")
    assert ledger["params"]["dataset"] == "fake" and ledger["params"]["net_width"] == 16
    assert any(c["id"] == "wang23-transfer-head-depth" for c in ledger["claims"])


def test_chapter02_rejects_inputs_it_cannot_use():
    import pytest

    with pytest.raises(config.ConfigError, match="N = n_per_class"):
        config.resolve("02", "smoke", n_per_class=20)
    with pytest.raises(config.ConfigError, match="head_depths"):
        config.resolve("02", "smoke", head_depths=[0, 1])
