"""models (chapter 03b): the small CNN, the VAE and the transformer expose documented per-layer features;
the Gram-preserving update keeps W^T W of reshaped conv kernels; the BERT path fails clearly."""
import pytest
import torch

from layerwise import data, models, optim, train
from layerwise.metrics.gram import weight_gram


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32)])
def test_cnn_features_have_the_documented_flat_shapes(shape):
    c, h, w = shape
    model = models.SmallCNN(shape, 10, channels=16, seed=0)
    feats = model.features(torch.randn(5, c * h * w))
    assert [tuple(f.shape) for f in feats] == [(5, c * h * w), (5, 16 * h * w // 4), (5, 16 * h * w // 4),
                                               (5, 16 * h * w // 16), (5, 10)]
    torch.testing.assert_close(feats[-1], model(torch.randn(5, c * h * w).copy_(feats[0])))
    assert [tuple(wt.shape) for wt in model.weights()] == [(16, c, 3, 3), (16, 16, 3, 3), (16, 16, 3, 3),
                                                            (10, 16 * h * w // 16)]


def test_cnn_init_is_seeded_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = models.SmallCNN((1, 8, 8), 10, seed=3), models.SmallCNN((1, 8, 8), 10, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_cnn_rejects_images_not_divisible_by_four():
    with pytest.raises(models.ModelError, match="divisible by 4"):
        models.SmallCNN((1, 10, 10), 10)


def test_gram_preserving_sgd_keeps_every_reshaped_conv_kernel_gram_to_1e10():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(32, 64, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 10, (32,), generator=gen)
    model = models.SmallCNN((1, 8, 8), 10, channels=16, seed=0).double()
    opts = []

    def make(params):
        opts.append(optim.GramPreservingSGD(params, lr=0.05, momentum=0.9, track_gram_error=True))
        return opts[0]

    before = [weight_gram(w.detach().clone()) for w in model.weights()]
    train.fit(model, x, y, loss="ce", epochs=3, lr=0.05, batch_size=8, make_optimizer=make)
    assert len(opts[0].gram_errors) == 12 and max(opts[0].gram_errors) <= 1e-10
    # the Gram does move (the step changes it), only the rotation part is discarded
    assert all((weight_gram(w.detach()) - g).norm() > 1e-6 for w, g in zip(model.weights(), before))


def test_vae_features_have_the_documented_shapes_and_mu_sits_at_latent_index():
    model = models.VAE(64, width=32, depth=2, latent_dim=3, seed=0)
    x = torch.randn(7, 64)
    feats = model.features(x)
    assert [tuple(f.shape) for f in feats] == [(7, 64), (7, 32), (7, 32), (7, 3), (7, 32), (7, 32), (7, 64)]
    mu, _, _ = model.encode(x)
    torch.testing.assert_close(feats[model.latent_index], mu)
    model.eval()
    torch.testing.assert_close(model(x), feats[-1])


def test_vae_trains_through_fit_with_the_kl_hook_and_is_reproducible():
    split = data.digits(seed=0)
    x = split.train.x[:200]
    losses = []
    for _ in range(2):
        model = models.VAE(64, width=32, depth=1, latent_dim=2, seed=1)
        hist = train.fit(model, x, x, loss="mse", epochs=10, lr=3e-3, optimizer="adam", batch_size=50,
                         extra_loss=models.VAE.kl_loss)
        losses.append(hist.loss)
    assert losses[0] == losses[1]
    assert losses[0][-1] < losses[0][1]  # index 0 is the first batch before any step, KL = 0 there


def test_transformer_features_are_the_cls_vector_per_block_then_logits():
    model = models.SmallTransformer(4, 12, 4, d_model=16, n_heads=2, depth=3, seed=0)
    ds = data.majority_sequences(9, seq_len=12, n_classes=4, seed=0)
    feats = model.features(ds.x)
    assert [tuple(f.shape) for f in feats] == [(9, 16)] * 4 + [(9, 4)]
    torch.testing.assert_close(model(ds.x), feats[-1])
    # the [CLS] vector before any block is the same for every sequence (embedding + position 0)
    torch.testing.assert_close(feats[0], feats[0][:1].expand(9, 16))


def test_bert_path_without_weights_says_how_to_get_them(tmp_path):
    with pytest.raises(models.ModelError, match="save_pretrained"):
        models.BertCLS("", 4)
    with pytest.raises(models.ModelError, match="not a folder"):
        models.load_bert(str(tmp_path / "missing"))


def test_majority_sequences_label_is_the_most_frequent_token():
    ds = data.majority_sequences(500, seq_len=9, n_classes=3, seed=2)
    counts = torch.nn.functional.one_hot(ds.x, 3).sum(1)
    assert torch.equal(counts.gather(1, ds.labels[:, None]).squeeze(1), counts.max(1).values)
    assert torch.bincount(ds.labels, minlength=3).min() > 100
    assert torch.equal(ds.x, data.majority_sequences(500, seq_len=9, n_classes=3, seed=2).x)
    assert data.image_shape("digits") == (1, 8, 8)


def test_bernoulli_vae_cross_entropy_is_the_binary_cross_entropy_of_its_logits():
    from layerwise import train

    model = models.VAE(6, width=5, depth=1, latent_dim=2, seed=0, likelihood="bernoulli").eval()
    x = (torch.rand(7, 6, generator=torch.Generator().manual_seed(0)) > 0.5).long()
    out = model(x.float())
    assert out.shape == (7, 2, 6)
    logits = model.out(torch.relu(model.decoder[0](model.encode(x.float())[0])))
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, x.float())
    assert train.loss_fn(out, x, "ce").item() == pytest.approx(bce.item(), rel=1e-6)
    assert torch.allclose(model.decode(model.encode(x.float())[0]), torch.sigmoid(logits))
    assert models.VAE.kl_per_output(model, out).item() == pytest.approx(model.kl.item() / 6)


def test_vae_refuses_an_unknown_likelihood():
    with pytest.raises(models.ModelError, match="likelihood"):
        models.VAE(4, likelihood="poisson")
