"""Chapter 7: presets validate, and the paper code path (a torchvision data set, the HMM sweep) runs
on tiny stand-in data on the CPU."""
import numpy as np
import pytest

from layerwise import book, config
from layerwise.chapters import ch07_runs as R
from layerwise.io import read_json


def test_chapter07_presets_resolve_and_reject_bad_values():
    for preset in config.PRESET_NAMES:
        # the paper preset names MNIST, which needs data_root: resolve it with the offline sets instead
        extra = {"datasets": ["digits", "mnist1d"]} if preset == "paper" else {}
        cfg = config.resolve("07", preset, **extra)
        assert min(cfg.sweep_depths) >= 3 and cfg.width >= 1
        assert cfg.cka_threshold in cfg.cka_thresholds and cfg.tl_rel in cfg.tl_rels
    assert config.preset_table("07", "paper")["sweep_depths"][-1] == 50
    for bad in (dict(sweep_depths=[2, 6]), dict(cka_threshold=1.5), dict(latent_dims=[0, 4]),
                dict(cka_thresholds=[0.85, 0.95]), dict(max_band=-1), dict(datasets=[])):
        with pytest.raises(config.ConfigError):
            config.resolve("07", "book", **bad)


def test_chapter07_paper_path_runs_on_fake_data(book_copy, tmp_path):
    params = dict(datasets=["fake"], n_train=80, width=16, epochs=1, n_seeds=1, sweep_depths=[4],
                  latent_dims=[2, 4], n_samples=80, n_test=40, n_kernel=20, n_cka=60)
    result = book.run_chapter("07", preset="paper", params=params, output=tmp_path / "paper", device="cpu",
                              root=book_copy, progress=False)
    assert result.ok, result.error
    ledger = read_json(result.output / "claims.json")
    assert ledger["params"]["datasets"] == ["fake"] and ledger["preset"] == "paper"
    assert {c["id"] for c in ledger["claims"]} == set(R.CLAIMS)
    assert all(c["provenance"] and c["control"]["name"] for c in ledger["claims"])
    # the science that holds even on tiny stand-in data: every landmark's band holds its default pick
    assert [e["verdict"] for e in ledger["sanity"]] == ["ok"]
