"""Chapter 03b: the `paper` preset's code path on tiny stand-in data, the BERT setting without weights, and
the helpers that shape its claims, on constructed cases with known answers."""
import pytest
import torch

from layerwise import book, data, models
from layerwise.chapters import ch03b, ch03b_runs
from layerwise.io import read_json
from layerwise.metrics import gram

TINY = dict(dataset="fake", cnn_dataset="fake", vae_dataset="fake", cnn_n_seeds=3, n_train=60, tl_width=8, tl_epochs=1,
            tl_seeds=3, tl_snapshot_every=1, cnn_channels=2, cnn_epochs=1, n_seeds=3, vae_width=8, vae_epochs=1,
            n_sequences=64, d_model=8, n_blocks=2, attn_epochs=1, nfa_n=60, nfa_width=8, nfa_epochs=2, n_snapshots=1)


def test_paper_preset_code_path_runs_on_tiny_stand_in_data(book_copy, tmp_path):
    result = book.run_chapter("03b", preset="paper", params={**TINY, "attention": "small"}, output=tmp_path / "paper",
                              device="cpu", root=book_copy, progress=False)
    assert result.ok, result.error
    ledger = read_json(result.output / "claims.json")
    assert ledger["params"]["sgd_lr"] == 0.0005 and ledger["params"]["n_seeds"] == 3
    sanity = {e["id"]: e for e in ledger["sanity"]}
    assert "gram-preserving-update-keeps-the-gram" in sanity  # the Gram is kept: a checked identity, not a run
    assert {c["id"] for c in ledger["claims"]} >= {"tl-sequential-adam", "nfa-learned-gram-aligns-with-agop"}
    assert all(c["control"] for c in ledger["claims"])


def test_paper_preset_without_bert_weights_stops_with_instructions(book_copy, tmp_path):
    result = book.run_chapter("03b", preset="paper", params=TINY, output=tmp_path / "bert", device="cpu",
                              root=book_copy, progress=False)
    assert not result.ok
    assert "ModelError" in result.error and "bert_weights" in result.error
    assert not (result.output / "claims.json").exists()


def test_matrix_pearson_is_the_centred_correlation_of_the_entries():
    a = torch.tensor([[2.0, 1.0], [1.0, 2.0]])
    assert gram.matrix_pearson(a, 3 * a + 5) == pytest.approx(1.0)  # invariant to scale and shift
    assert gram.matrix_pearson(a, -a) == pytest.approx(-1.0)
    # two PSD matrices with a large common mean: the uncentred cosine is near 1, the Pearson correlation is not
    b = torch.tensor([[2.0, 1.5], [1.5, 1.0]])
    assert gram.matrix_correlation(a + 10, b + 10) > 0.99 and gram.matrix_pearson(a + 10, b + 10) < 0.5
    assert gram.matrix_pearson(torch.ones(2, 2), a) == 0.0


def test_random_projection_tl_is_below_the_pca_ceiling_and_equals_the_input_at_full_rank():
    x = (torch.rand(200, 6, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    k2 = ch03b.random_projection_tl(x, 2, seed=0)
    pca = torch.linalg.svd(x.double() - x.double().mean(0), full_matrices=False)[0][:, :2]
    assert 0 < k2 <= gram.target_linearity(pca, x.double()) + 1e-9
    # an invertible map of x spans what x spans (no intercept: the authors' TL of uncentred features)
    assert ch03b.random_projection_tl(x, 6, seed=0) == pytest.approx(gram.target_linearity(x, x.double()), abs=1e-9)


def test_pair_rows_reads_a_straight_decoder_as_straight():
    class Linear(torch.nn.Module):  # encode = identity, decode = identity: every decoded path is a straight line
        def encode(self, x):
            return x, torch.zeros_like(x)

        def decode(self, z):
            return z

    x = torch.tensor([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0], [1.1, 1.0], [2.0, 0.0], [2.1, 0.1]])
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    rows = ch03b.pair_rows(Linear(), x, y, torch.linspace(0, 1, 5))
    assert [r["pair"] for r in rows] == ["0-1", "0-2", "1-2"]
    assert all(r["straightness"] == pytest.approx(1.0) for r in rows)
    assert all(r["latent_TL"] == pytest.approx(r["input_TL"]) for r in rows)  # the latent is the input


def test_nfa_run_measures_the_authors_statistic_only_after_training_starts():
    ds = data.disk(60, seed=0)
    rows = ch03b_runs.nfa_run(ds, 0, shuffled=False, width=8, depth=3, epochs=2, lr=0.05, momentum=0.0,
                              batch_size=20, snapshot_epochs=[0, 2])
    assert [(r["epoch"], r["layer"]) for r in rows] == [(0, 1), (0, 2), (2, 1), (2, 2)]
    assert rows[0]["nfa"] != rows[0]["nfa"]  # NaN at initialisation: W - W0 = 0
    assert all(-1 <= r["nfa"] <= 1 for r in rows[2:]) and all(-1 <= r["trained_gram"] <= 1 for r in rows)


def test_vae_run_records_the_image_tl_of_the_latent_mean():
    x = (torch.rand(80, 16, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    run = ch03b_runs.vae_run(0, x, width=8, depth=1, latent_dim=16, epochs=1, lr=1e-3, batch_size=40,
                             snapshot_epochs=[0, 1], recipe={})
    vae = models.VAE(16, width=8, depth=1, latent_dim=16, seed=0, likelihood="bernoulli")
    vae.load_state_dict(run["state"])
    assert run["epochs"] == [0, 1] and 0 <= run["tl"][-1] <= 1
    mu = vae.encode(x)[0].detach()
    assert run["tl"][-1] == pytest.approx(gram.target_linearity(mu, x.double()))


def test_half_way_reads_the_middle_epoch():
    assert ch03b.half_way([0.1, 0.2, 0.3, 0.4]) == 0.2
    assert ch03b.half_way([0.5]) == 0.5
    with pytest.raises(ValueError):
        ch03b.half_way([])


def test_worst_by_seed_takes_the_smallest_value_per_seed_and_labelling():
    import pandas as pd

    idx = pd.MultiIndex.from_tuples([("true", 0, "disk", 2), ("true", 0, "yin", 2), ("true", 1, "disk", 2),
                                     ("shuffled", 0, "disk", 2)], names=["labels", "seed", "data", "layer"])
    s = pd.Series([0.9, 0.7, 0.8, 0.1], index=idx)
    assert ch03b.worst_by_seed(s, "true") == {0: 0.7, 1: 0.8} and ch03b.worst_by_seed(s, "shuffled") == {0: 0.1}
