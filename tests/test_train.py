import pytest
import torch

from layerwise import data, train
from layerwise.models import MLP
from layerwise.train import DivergenceError


def theory_net(seed=0):
    ds = data.nearly_orthonormal(5, 3, 20, seed=seed)
    net = MLP(20, 20, 3, 3, activation="linear", bias=False, init="orthogonal", init_scale=0.5,
              output_scale=10.0, seed=seed).double()
    return ds, net


def test_mse_is_summed_over_outputs_and_averaged_over_samples():
    out = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    target = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    assert train.loss_fn(out, target, "mse").item() == pytest.approx((1 + 4 + 1 + 1) / 2)


def test_gradient_descent_interpolates_the_theory_data_and_stops_at_the_threshold():
    ds, net = theory_net()
    hist = train.fit(net, ds.x, ds.labels, epochs=2000, lr=0.1, stop_loss=1e-10, progress=False)
    assert hist.stopped_early and hist.loss[-1] < 1e-10 < hist.loss[0]
    assert len(hist.loss) == hist.epochs_run + 1


def test_same_seed_same_training():
    losses = []
    for _ in range(2):
        split = data.digits(seed=0)
        net = MLP(64, 32, 3, 10, seed=1)
        hist = train.fit(net, split.train.x, split.train.labels, epochs=2, lr=0.05, batch_size=64, loss="ce",
                         momentum=0.9, seed=3, progress=False)
        losses.append((hist.loss, [p.detach().clone() for p in net.parameters()]))
    assert losses[0][0] == losses[1][0]
    assert all(torch.equal(a, b) for a, b in zip(losses[0][1], losses[1][1]))


def test_divergence_raises_a_clear_error_with_step_and_learning_rate():
    ds, net = theory_net()
    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+, step \d+ .* lr = 1e\+06"):
        train.fit(net, ds.x, ds.labels, epochs=100, lr=1e6, progress=False)


def test_snapshots_are_taken_at_init_and_on_schedule():
    ds, net = theory_net()
    hist = train.fit(net, ds.x, ds.labels, epochs=5, lr=0.01, callback=lambda e, m: e * 10,
                     snapshot_epochs=[2, 5], progress=False)
    assert hist.snapshots == [(0, 0), (2, 20), (5, 50)]


def test_cosine_schedule_ends_at_lr_min():
    assert train.cosine_lr(0, 10, 0.1, 0.01) == pytest.approx(0.1)
    assert train.cosine_lr(10, 10, 0.1, 0.01) == pytest.approx(0.01)


def test_spectral_decoupling_adds_half_the_mean_squared_logit_norm():
    ds, net = theory_net()
    x, y = ds.x, ds.labels
    with torch.no_grad():
        out = net(x)
        base = train.loss_fn(out, torch.nn.functional.one_hot(y, 3).double(), "mse").item()
        penalty = 0.5 * 0.3 * out.pow(2).sum(1).mean().item()
    hist = train.fit(net, x, y, epochs=1, lr=1e-12, sd_coef=0.3, progress=False)
    assert hist.loss[0] == pytest.approx(base + penalty, rel=1e-9)


@pytest.mark.parametrize("kwargs, message", [
    (dict(loss="hinge"), "loss must be one of"),
    (dict(optimizer="lbfgs"), "optimizer must be one of"),
    (dict(epochs=0), "epochs must be an integer >= 1"),
    (dict(lr=0.0), "lr must be a finite number > 0"),
])
def test_bad_training_arguments_are_rejected(kwargs, message):
    ds, net = theory_net()
    args = dict(epochs=1, lr=0.1, progress=False) | kwargs
    with pytest.raises(ValueError, match=message):
        train.fit(net, ds.x, ds.labels, **args)


def test_nan_targets_are_rejected_before_training():
    ds, net = theory_net()
    y = torch.zeros(15, 3, dtype=torch.float64)
    y[0, 0] = float("inf")
    with pytest.raises(data.DataError, match="training targets"):
        train.fit(net, ds.x, y, epochs=1, lr=0.1, progress=False)


def test_weights_that_overflow_on_the_last_step_are_a_divergence_not_a_result():
    gen = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3))
    x, y = torch.randn(16, 4, generator=gen), torch.randint(0, 3, (16,), generator=gen)
    with pytest.raises(DivergenceError, match="non-finite weights after epoch 1"):
        train.fit(net, 1e5 * x, y, epochs=1, lr=1e30, loss="mse")  # the loss before the step is finite
