"""Chapter 7: presets validate, and the paper code path (a torchvision data set, the HMM sweep) runs
on tiny stand-in data on the CPU."""
import pytest

from layerwise import book, config
from layerwise.io import read_json


def test_chapter07_presets_resolve_and_reject_bad_values():
    for preset in config.PRESET_NAMES:
        cfg = config.resolve("07", preset, download=True, data_root="unused")  # paper: data would be fetched
        assert min(cfg.sweep_depths) >= 3 and cfg.width >= 1
    assert config.preset_table("07", "paper")["sweep_depths"][-1] == 50
    for bad in (dict(sweep_depths=[2, 6]), dict(cka_threshold=1.5), dict(latent_dims=[0, 4])):
        with pytest.raises(config.ConfigError):
            config.resolve("07", "book", **bad)


def test_chapter07_paper_path_runs_on_fake_data(book_copy, tmp_path):
    params = dict(dataset="fake", n_train=80, width=16, epochs=1, n_seeds=1, sweep_depths=[4],
                  latent_dims=[2, 4], n_samples=80, n_test=40, n_kernel=20, n_cka=60)
    result = book.run_chapter("07", preset="paper", params=params, output=tmp_path / "paper", device="cpu",
                              root=book_copy, progress=False)
    assert result.ok, result.error
    ledger = read_json(result.output / "claims.json")
    assert ledger["params"]["dataset"] == "fake" and ledger["preset"] == "paper"
    assert {c["id"] for c in ledger["claims"]} >= {"seed-tunnel-linear", "seed-alignment-peak-at-boundary",
                                                    "boundary-deeper-when-harder", "wang23-tunnel-geometric"}
