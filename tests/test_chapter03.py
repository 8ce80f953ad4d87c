"""Chapter 03's `paper` preset code path on tiny stand-in data (torchvision FakeData), on the CPU."""
from layerwise import book, config
from layerwise.io import read_json

TINY = dict(dataset="fake", white_dataset="fake", n_train=64, rand_n_train=64, check_n=16, roll_n=100,
            roll_steps=10, roll_seeds=1, tl_width=16, tl_epochs=2, white_width=8, white_epochs=1, white_seeds=2,
            stair_n=100, stair_widths=[8, 16], stair_steps=40, rand_ps=[0.0, 1.0], rand_width=16, rand_epochs=2,
            rand_log_every=1, grok_modulus=5, grok_width=16, grok_epochs=4, grok_log_every=2)


def test_paper_preset_code_path_runs_on_tiny_stand_in_data(book_copy, tmp_path):
    result = book.run_chapter("03", preset="paper", params=TINY, output=tmp_path / "paper", device="cpu",
                              root=book_copy, progress=False)
    assert result.ok, result.error
    ledger = read_json(result.output / "claims.json")
    assert ledger["params"]["grok_batch_size"] == 32 and ledger["params"]["tl_lr"] == 5e-4
    assert {c["id"] for c in ledger["claims"]} >= {"cha26-fle-identity", "cha26-whitening-keeps-gram"}


def test_chapter03_presets_resolve_and_reject_bad_values(tmp_path):
    for preset in config.PRESET_NAMES:
        # download=True: the paper preset's data would be fetched, so resolve accepts it without files
        assert config.resolve("03", preset, results_dir=tmp_path, download=True, data_root=str(tmp_path)).grok_modulus >= 5
    import pytest

    with pytest.raises(config.ConfigError, match="rand_ps must lie in"):
        config.resolve("03", "smoke", results_dir=tmp_path, rand_ps=[0.5, 2.0])
    with pytest.raises(config.ConfigError, match="tl_depth must be >= 3"):
        config.resolve("03", "smoke", results_dir=tmp_path, tl_depth=2)
