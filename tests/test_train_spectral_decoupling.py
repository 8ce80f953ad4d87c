"""Spectral decoupling in the one training loop: loss value and one gradient step in closed form."""
import torch

from layerwise.models import MLP
from layerwise.train import fit


def _linear_model(seed: int = 0) -> MLP:
    return MLP(5, 1, 1, 3, bias=True, init="lecun", seed=seed).double()


def _data():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(40, 5, generator=gen, dtype=torch.float64), torch.randint(0, 3, (40,), generator=gen)


def test_sd_loss_is_ce_plus_half_lambda_mean_squared_logit_norm():
    x, y = _data()
    lam = 0.3
    model = _linear_model()
    with torch.no_grad():
        out = model(x)
    ce = torch.nn.functional.cross_entropy(out, y)
    expected = ce + lam / 2 * out.pow(2).sum(1).mean()
    hist = fit(model, x, y, epochs=1, lr=1e-9, loss="ce", sd_coef=lam, progress=False)
    assert abs(hist.loss[0] - float(expected)) < 1e-12
    plain = fit(_linear_model(), x, y, epochs=1, lr=1e-9, loss="ce", progress=False)
    assert abs(plain.loss[0] - float(ce)) < 1e-12


def test_one_sgd_step_with_sd_matches_the_closed_form_gradient():
    """For logits o = X W^T + b: grad_W = ((softmax(o) - Y) + lam o)^T X / n, grad_b the column mean."""
    x, y = _data()
    lam, lr, n = 0.5, 0.1, x.shape[0]
    model = _linear_model()
    w0, b0 = model.layers[0].weight.detach().clone(), model.layers[0].bias.detach().clone()
    o = x @ w0.T + b0
    resid = torch.softmax(o, 1) - torch.nn.functional.one_hot(y, 3).double() + lam * o
    fit(model, x, y, epochs=1, lr=lr, loss="ce", sd_coef=lam, progress=False)
    assert torch.allclose(model.layers[0].weight, w0 - lr * resid.T @ x / n, atol=1e-13)
    assert torch.allclose(model.layers[0].bias, b0 - lr * resid.mean(0), atol=1e-13)
