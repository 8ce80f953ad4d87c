"""all_lenses on a small trained MLP: every profile has its shape, the measures are the package's."""
import numpy as np
import pytest
import torch

from layerwise import data, features, lenses, models, train
from layerwise.metrics import cka, collapse, gram


@pytest.fixture(scope="module")
def trained():
    tr, _ = data.hidden_manifold(300, latent_dim=4, ambient_dim=20, seed=1)
    te, _ = data.hidden_manifold(200, latent_dim=4, ambient_dim=20, seed=2)
    net = models.MLP(20, 32, 5, 2, seed=0)
    train.fit(net, tr.x, tr.labels, loss="ce", epochs=20, lr=0.05, momentum=0.9, batch_size=64, progress=False)
    return net, tr, te


def test_all_lenses_fills_every_profile_for_rows_zero_to_depth(trained):
    net, tr, te = trained
    lz = lenses.all_lenses(net, tr, te, lenses.LensSettings(n_kernel=40, n_cka=150))
    table = lz.table()
    assert len(table) == net.depth + 1 and lz.cka.shape == (net.depth + 1, net.depth + 1)
    assert np.isnan(lz.profile["alignment"][0]) and np.isnan(lz.profile["map_r2"][0])
    assert np.all(np.isfinite(lz.profile["alignment"][1:]))
    assert lz.profile["map_r2"][-1] == pytest.approx(1.0, abs=1e-6)  # the readout is affine
    assert lz.profile["cka_last_hidden"][net.depth - 1] == pytest.approx(1.0)


def test_all_lenses_uses_the_package_measures(trained):
    net, tr, te = trained
    lz = lenses.all_lenses(net, tr, te, lenses.LensSettings(n_kernel=40, n_cka=len(tr)))
    feats = features.layer_features(net, tr.x)
    assert lz.profile["C"][2] == pytest.approx(collapse.within_class_compression(feats[2], tr.labels))
    assert lz.profile["TL"][3] == pytest.approx(gram.target_linearity(feats[3], tr.labels))
    # n_cka = n: the permutation only reorders samples, which CKA ignores
    assert lz.cka[1, 4] == pytest.approx(cka.linear_cka(feats[1], feats[4]), abs=1e-10)


def test_landmarks_lie_in_their_layer_ranges(trained):
    net, tr, te = trained
    lz = lenses.all_lenses(net, tr, te, lenses.LensSettings(n_kernel=40, n_cka=150))
    marks = lz.landmarks()
    assert set(marks) == set(lenses.LANDMARKS)
    for name, layer in marks.items():
        top = net.depth if name == "alignment peak" else net.depth - 1
        assert 1 <= layer <= top, (name, layer)
    summary = lz.tunnel_summary()
    assert summary["tunnel length"] == net.depth - marks["tunnel start"]


def test_layer_alignment_is_deterministic_for_a_seed(trained):
    net, tr, _ = trained
    a = lenses.layer_alignment(net, tr, 40, seed=3)
    assert a == lenses.layer_alignment(net, tr, 40, seed=3)
    assert len(a) == net.depth and all(-1 <= v <= 1 for v in a)
    assert torch.get_default_dtype() == torch.float32


def test_bands_hold_each_landmark_at_its_default_choice(trained):
    net, tr, te = trained
    settings = lenses.LensSettings(n_kernel=40, n_cka=150, n_kernel_draws=2)
    lz = lenses.all_lenses(net, tr, te, settings)
    bands, marks = lz.bands(), lz.landmarks()
    assert set(bands) == set(lenses.LANDMARKS)
    assert bands["tunnel start"].layers[settings.cka_threshold] == marks["tunnel start"]
    assert bands["TL saturation"].layers[settings.tl_rel] == marks["TL saturation"]
    assert bands["compression onset"].layers[settings.onset_tol] == marks["compression onset"]
    assert bands["rank peak"].layers[1e-3] == marks["rank peak"]
    assert bands["alignment peak"].layers[0] == marks["alignment peak"]  # draw 0 is the profile
    assert lz.alignment_draws.shape == (2, net.depth)
    for band in bands.values():
        assert band.stable == (band.width <= settings.max_band)
    # a higher CKA threshold never starts the tunnel earlier
    starts = [bands["tunnel start"].layers[t] for t in sorted(settings.cka_thresholds)]
    assert starts == sorted(starts)


def test_lenses_without_kernels_have_no_alignment_peak(trained):
    net, tr, te = trained
    lz = lenses.all_lenses(net, tr, te, lenses.LensSettings(n_cka=150, alignment=False))
    assert lz.landmarks()["alignment peak"] is None and "alignment peak" not in lz.bands()
    assert np.all(np.isnan(lz.profile["alignment"]))
