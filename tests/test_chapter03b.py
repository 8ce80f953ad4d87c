"""Chapter 03b's `paper` preset: its code path on tiny stand-in data, and the BERT setting without weights."""
from layerwise import book
from layerwise.io import read_json

TINY = dict(dataset="fake", vae_dataset="fake", n_train=60, n_test=30, tl_width=8, tl_epochs=1, cnn_channels=2,
            cnn_epochs=1, n_seeds=1, vae_width=8, vae_epochs=1, n_sequences=64, d_model=8, n_blocks=1,
            attn_epochs=1, nfa_n=60, nfa_width=8, nfa_epochs=2, n_snapshots=1)


def test_paper_preset_code_path_runs_on_tiny_stand_in_data(book_copy, tmp_path):
    result = book.run_chapter("03b", preset="paper", params={**TINY, "attention": "small"}, output=tmp_path / "paper",
                              device="cpu", root=book_copy, progress=False)
    assert result.ok, result.error
    ledger = read_json(result.output / "claims.json")
    assert ledger["params"]["sgd_lr"] == 0.0005 and ledger["params"]["n_seeds"] == 1


def test_paper_preset_without_bert_weights_stops_with_instructions(book_copy, tmp_path):
    result = book.run_chapter("03b", preset="paper", params=TINY, output=tmp_path / "bert", device="cpu",
                              root=book_copy, progress=False)
    assert not result.ok
    assert "ModelError" in result.error and "bert_weights" in result.error
    assert not (result.output / "claims.json").exists()
