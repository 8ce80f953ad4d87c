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
                  sweep_depths=[3, 4, 5], sweep_width=16, n_seeds=1, theory_width=64,
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


# --- the helpers that decide chapter 4's verdicts (constructed cases with known answers) ---------

from layerwise import config  # noqa: E402
from layerwise.chapters import ch04  # noqa: E402
from layerwise.config import ConfigError  # noqa: E402


def test_depth_overrides_validate_under_the_shared_name():
    assert config.parse_value("04", "depth", "10") == 10
    assert config.parse_value("04", "sweep_depths", "11,21,31") == [11, 21, 31]
    assert config.parse_value("04", "theory_depth", "21") == 21
    with pytest.raises(ConfigError, match="unknown parameter 'hidden_layers'"):
        config.parse_value("04", "hidden_layers", "10")


@pytest.mark.parametrize("params, message", [
    (dict(depth=2), "depth must be an integer >= 3"),
    (dict(sweep_depths=[11, 11, 21]), "sweep_depths must list >= 3 increasing depths"),
    (dict(sweep_depths=[11, 21]), "sweep_depths must list >= 3 increasing depths"),
    (dict(n_align=5), "n_align must be an integer in"),
    (dict(n_train=20, n_align=50), "n_train=20 must be 0"),
])
def test_bad_chapter4_parameters_are_refused_before_any_work(tmp_path, params, message):
    with pytest.raises(ConfigError, match=message):
        config.resolve("04", "smoke", results_dir=tmp_path, **params)




@pytest.fixture(scope="module")
def smoke04(book_copy, tmp_path_factory):
    result = book.run_chapter("04", preset="smoke", output=tmp_path_factory.mktemp("ch04") / "smoke", device="cpu",
                              root=book_copy, progress=False)
    assert result.ok, result.error
    return read_json(result.output / "claims.json")


def test_chapter4_smoke_nets_are_trained_and_the_identities_hold(smoke04):
    # the smoke recipe trains every net to the criterion, so no claim is inconclusive for undertraining
    assert all("undertrained" not in c["reason"] and "criterion" not in c["reason"] for c in smoke04["claims"])
    sanity = {e["id"]: e for e in smoke04["sanity"]}
    assert all(e["verdict"] == "ok" for e in sanity.values())
    assert sanity["hadamard-identity"]["values"] <= 1e-12  # exact chain-rule identity in float64
    assert sanity["finite-depth-table"]["values"] == 1  # the reference table of l*(L), recomputed
    ids = {c["id"] for c in smoke04["claims"]}
    assert {"lou22-hierarchy-interior-peak", "lou22-hierarchy-margin", "lou22-peak-monotone",
            "lou22-peak-position-falls", "lou22-eh-predictor", "lou22-peak-slope"} <= ids


def test_chapter4_claims_use_a_control_that_can_pass(smoke04):
    claims = {c["id"]: c for c in smoke04["claims"]}
    # the untrained control's interior margin is signed: not pinned at 0 when its peak is at an end
    margins = claims["lou22-hierarchy-interior-peak"]["control"]["values"]
    assert any(v != 0 for v in margins.values())
    # the slope's control is the middle layer 1 + L/2 over L = 2, 3, 4: slope of log(1 + L/2) on log L
    import numpy as np
    expected = np.polyfit(np.log([2, 3, 4]), np.log([2, 2.5, 3]), 1)[0]
    assert all(v == pytest.approx(expected) for v in claims["lou22-peak-slope"]["control"]["values"].values())
