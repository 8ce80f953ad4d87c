"""Chapter 05: its parameter checks, and its `paper` code path on tiny stand-in data."""
import pytest

from layerwise import book, config
from layerwise.io import read_json


@pytest.mark.parametrize("params, match", [
    (dict(class_counts=[1, 10]), "class_counts"),
    (dict(ood_train_classes=9), "ood_train_classes"),
    (dict(early_fraction=1.0), "early_fraction"),
    (dict(cs_depths=[1, 3]), "cs_depths"),
    (dict(depth=2), "depth must be an integer >= 3"),
    (dict(compare_depth=12), "compare_depth must be smaller than depth"),
    (dict(ntk_depths=[3, 4]), "ntk_depths needs >= 3 depths"),
    (dict(cs_core_strengths=[0.1, -1.0]), "cs_core_strengths"),
    (dict(ntk_n_kernel=3), "ntk_n_kernel"),
    (dict(min_probe_gain=1.5), "min_probe_gain"),
    (dict(hmm_seeds=0), "hmm_seeds"),
])
def test_chapter05_rejects_unusable_parameters_by_name(params, match, tmp_path):
    with pytest.raises(config.ConfigError, match=match):
        config.resolve("05", "book", results_dir=tmp_path, **params)


def test_chapter05_paper_preset_code_path_runs_on_tiny_fake_data(book_copy, tmp_path):
    params = dict(dataset="fake", n_train=200, n_measure=100, width=16, depth=4, compare_depth=3, epochs=1,
                  n_seeds=1, class_counts=[2, 10], mb_epochs=1, cs_depths=[2, 3], cs_width=16, cs_n_train=100,
                  cs_epochs=2, cs_seeds=1, ntk_depths=[2, 3, 4], ntk_width=16, ntk_n_train=60, ntk_n_kernel=20,
                  ntk_epochs=2, ntk_seeds=1, hmm_depth=3, hmm_width=16, hmm_n_train=100, hmm_ambient_dim=50,
                  hmm_epochs=2, hmm_seeds=1)
    result = book.run_chapter("05", preset="paper", params=params, output=tmp_path / "paper", device="cpu",
                              root=book_copy, progress=False)
    assert result.ok, result.error
    ledger = read_json(result.output / "claims.json")
    assert ledger["preset"] == "paper" and ledger["params"]["weight_decay"] == 5e-4
    assert len(ledger["claims"]) >= 22 and len(ledger["sanity"]) == 3
    assert all(c["verdict"] == "inconclusive" for c in ledger["claims"])  # one seed: never a verdict


# --- the science the chapter's runners must get right, on small cases with known answers ---

import torch  # noqa: E402

from layerwise import data, models  # noqa: E402
from layerwise.chapters import ch05_runs as R  # noqa: E402
from layerwise.metrics import cka  # noqa: E402


def _copying_mlp(dim: int, depth: int) -> models.MLP:
    """An MLP whose hidden layers copy its (positive) input: identity weights, zero biases."""
    net = models.MLP(dim, dim, depth, 2, init="he", seed=0)
    with torch.no_grad():
        for lin in [m for m in net.modules() if isinstance(m, torch.nn.Linear)][:-1]:
            lin.weight.copy_(torch.eye(dim))
            lin.bias.zero_()
    return net


def test_a_net_that_only_copies_its_input_has_no_extractor_and_no_tunnel():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(300, 6, generator=gen) + 0.1  # positive: ReLU passes it unchanged
    labels = (x[:, 0] > x[:, 1]).long()
    ds = data.Dataset(x, labels, 2, "toy")
    prof = R.tunnel_profile(_copying_mlp(6, 4), ds, ds, min_gain=0.1)
    assert prof["probe"] == [prof["input_probe"]] * 3  # every layer probes exactly like the input
    assert prof["starts"] == {"probe 95%": 1, "probe 98%": 1, "rank": 1, "CKA 0.9": 1}
    assert not prof["tunnel"]  # nothing was built, so there is no tunnel to pose a claim on
    assert torch.allclose(prof["cka"], torch.ones(3, 3, dtype=prof["cka"].dtype))


def test_the_label_floor_cannot_pass_the_teacher_directions_claim():
    gen = torch.Generator().manual_seed(1)
    teacher = torch.randn(500, 2, generator=gen, dtype=torch.float64)
    onehot = data.one_hot((teacher.sum(1) > 0).long(), 2, torch.float64)
    label_cka = cka.linear_cka(onehot, teacher)
    # a "hidden layer" that is the one-hot label itself scores exactly the floor: margin 0, not > 0
    assert R.teacher_margin([cka.linear_cka(onehot, teacher)], label_cka, 0.0) == 0.0
    # a layer that holds the teacher's directions themselves beats it
    assert R.teacher_margin([cka.linear_cka(teacher, teacher)], label_cka, 0.0) > 0.2


def test_the_two_class_task_uses_a_pair_the_raw_input_does_not_separate():
    p = dict(dataset="mnist1d", data_root="", download=False, n_train=0)
    a, b = R.hardest_pair(p)
    probe = {}
    for pair in ((0, 1), (a, b)):
        tr, te = R.task_data(R.classes_task(p, pair), 0)
        probe[pair] = R.linear_probe_accuracy(tr.x, tr.labels, te.x, te.labels)
    assert probe[(0, 1)] > 0.95  # the first two classes: no extractor needed, the class claim is empty there
    assert probe[(a, b)] < 0.7  # the hardest pair: a net has features to build
