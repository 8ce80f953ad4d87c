"""Chapter 4's `paper` preset code path (MNIST/CIFAR-10 loaders, deep sweep) on tiny stand-in data."""
import pytest
import torch

from layerwise import book
from layerwise.data import equicorrelated_inputs
from layerwise.io import read_json
from layerwise.metrics.signal_propagation import input_correlations


@pytest.mark.slow
def test_paper_preset_runs_on_tiny_fake_data(book_copy, tmp_path):
    params = dict(dataset="fake", n_train=120, n_align=20, depth=3, width=16, epochs=1,
                  sweep_depths=[3, 4, 5], sweep_width=16, sweep_epochs=1, n_seeds=1, theory_width=64,
                  theory_depth=4)
    result = book.run_chapter("04", preset="paper", params=params, output=tmp_path / "paper", device="cpu",
                              root=book_copy, progress=False)
    assert result.ok, result.error
    ledger = read_json(result.output / "claims.json")
    assert ledger["preset"] == "paper" and ledger["params"]["dataset"] == "fake"
    ids = {c["id"] for c in ledger["claims"]}
    assert {"lou22-peak-slope", "lou22-eh-predictor"} <= ids
    assert "hadamard-identity" in {e["id"] for e in ledger["sanity"]}


def test_equicorrelated_inputs_have_the_asked_cosines():
    x = equicorrelated_inputs(5, 12, 0.3, seed=1)
    assert x.shape == (5, 12)
    assert torch.allclose(x.norm(dim=1), torch.full((5,), 12 ** 0.5, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(input_correlations(x), torch.full((10,), 0.3, dtype=torch.float64), atol=1e-12)
