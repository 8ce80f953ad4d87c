import re

import pytest
import torch

from layerwise import config
from layerwise.config import ConfigError


def resolve(tmp_path, preset="smoke", **params):
    return config.resolve("01", preset, results_dir=tmp_path, **params)


def test_none_parameters_come_from_the_preset(tmp_path):
    cfg = resolve(tmp_path, depth=None, net_epochs=None)
    declared = config.chapter_params("01")
    assert cfg.depth == declared["depth"].book
    assert cfg.net_epochs == declared["net_epochs"].smoke != declared["net_epochs"].book


def test_every_preset_of_every_chapter_resolves(tmp_path):
    for number in config.CHAPTERS:
        for preset in config.PRESET_NAMES:
            table = config.preset_table(number, preset)
            assert set(table) == set(config.chapter_params(number)), (number, preset)
            if preset != "paper":  # the paper presets need data files (checked below)
                config.resolve(number, preset, results_dir=tmp_path)


# Chapters whose parameters still lack a line of help each (their issues fill them in).
HELP_PENDING: set[str] = set()


@pytest.mark.parametrize("number", sorted(config.CHAPTERS))
def test_every_parameter_has_one_line_of_help(number):
    if number in HELP_PENDING:
        pytest.skip(f"chapter {number}'s parameter help is not written yet")
    missing = [n for n, p in config.chapter_params(number).items() if not p.help.strip() or "\n" in p.help]
    assert not missing, f"chapter {number}: parameters without one line of help: {missing}"


def test_the_paper_preset_names_its_data_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="dataset 'cifar10' needs its files: set data_root"):
        config.resolve("01", "paper", results_dir=tmp_path)
    with pytest.raises(ConfigError, match="CIFAR10 was not found under data_root="):
        config.resolve("01", "paper", results_dir=tmp_path, data_root=str(tmp_path))


def test_a_width_larger_than_the_machine_is_refused_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="net_width=100000000 needs at least .* GiB .*lower net_width"):
        resolve(tmp_path, net_width=100_000_000)
    config.check_memory({"width": 1000}, limit=10**8)
    with pytest.raises(ConfigError, match="width=4000"):
        config.check_memory({"width": 4000}, limit=10**8)
    config.check_memory({"width": 4000, "n_train": 4000}, limit=10**8, widths=["depth"])  # only widths count
    assert "net_width" in config.width_params("01") and "depth" not in config.width_params("01")


def test_the_parameter_table_shows_values_help_and_what_differs_from_book(tmp_path):
    cfg = resolve(tmp_path, depth=7)
    html = cfg.table()._repr_html_()
    assert "<code>depth</code></td><td><b>7</b>" in html and "preset <b>smoke</b>" in html
    assert config.chapter_params("01")["depth"].help in html


@pytest.mark.parametrize("params, message", [
    (dict(depth=0), "depth must be an integer >= 3, got 0 (set it in the parameters cell or with -p depth N)"),
    (dict(net_width=0), "net_width must be an integer >= 1"),
    (dict(net_width=20.5), "net_width must be an integer"),
    (dict(lr=-0.1), "lr must be a number > 0"),
    (dict(lr=float("nan")), "lr must be a number > 0, got nan (it must be finite)"),
    (dict(net_momentum=1.5), "net_momentum must be a number in [0, 1)"),
    (dict(dataset="imagenet"), "dataset must be one of"),
    (dict(sweep_depths=[4, 0]), "sweep_depths must be a non-empty list of integers >= 3, got [4, 0] (entry 2 is 0)"),
    (dict(sweep_depths=[]), "sweep_depths must be a non-empty list"),
    (dict(n_classes=1), "n_classes must be an integer >= 2"),
    (dict(hybrid_nonlinear=9), "hybrid_nonlinear must be < net_depth"),
    (dict(bogus=1), "unknown parameter 'bogus' for chapter 01"),
])
def test_bad_values_are_rejected_with_the_parameter_named(tmp_path, params, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        resolve(tmp_path, **params)


def test_unknown_preset_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="preset must be one of smoke, book, paper, got 'fast'"):
        resolve(tmp_path, preset="fast")


def test_unknown_chapter_is_rejected():
    with pytest.raises(ConfigError, match="unknown chapter '99'"):
        config.chapter_number("99")


def test_command_line_values_are_parsed_by_the_parameter_type():
    assert config.parse_value("01", "net_depth", "8") == 8
    assert config.parse_value("01", "lr", "0.05") == 0.05
    assert config.parse_value("01", "sweep_depths", "4,6,8") == [4, 6, 8]
    assert config.parse_value("01", "download", "true") is True
    assert config.parse_value("01", "seed", "7") == 7
    with pytest.raises(ConfigError, match="depth must be an integer >= 3, got 'six'"):
        config.parse_value("01", "depth", "six")
    with pytest.raises(ConfigError, match="sweep_depths must be .* got '4,x'"):
        config.parse_value("01", "sweep_depths", "4,x")


def test_missing_device_is_an_error_before_any_work(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match="not available"):
        resolve(tmp_path, device="cuda")
    with pytest.raises(ConfigError, match="device must be"):
        config.resolve_device("tpu")
    assert config.resolve_device("auto") == torch.device("cpu")


def test_resolve_is_pure_it_creates_no_folder(tmp_path):
    target = tmp_path / "not" / "yet"
    cfg = config.resolve("01", "smoke", results_dir=target)
    assert cfg.results_dir == target and not (tmp_path / "not").exists()


def test_in_a_notebook_a_value_equal_to_the_book_value_counts_as_unset(tmp_path):
    book = config.chapter_params("01")["net_epochs"].book
    smoke = config.chapter_params("01")["net_epochs"].smoke
    cell = {"preset": "smoke", "results_dir": str(tmp_path), "net_epochs": book}  # a generated cell's value
    assert config.resolve_notebook("01", cell).net_epochs == smoke != book
    assert config.resolve_notebook("01", {**cell, "net_epochs": book + 1}).net_epochs == book + 1  # edited
    assert config.resolve_notebook("01", {**cell, "preset": "book"}).net_epochs == book
    assert resolve(tmp_path, net_epochs=book).net_epochs == book  # called directly, resolve takes it as given
    assert config.resolve_notebook("01", {**cell, "overrides": ["net_epochs"]}).net_epochs == book  # -p at smoke


@pytest.mark.parametrize("number", sorted(config.CHAPTERS))
def test_every_parameter_declares_its_rule(number):
    from layerwise.params import Rule

    missing = [n for n, p in config.chapter_params(number).items() if not isinstance(p.rule, Rule)]
    assert not missing, f"chapter {number}: parameters without rule=: {missing}"
    for name, p in config.chapter_params(number).items():
        for preset in config.PRESET_NAMES:
            p.check(name, p.at(preset))  # every preset value follows the rule


def test_resolve_notebook_reads_the_parameters_cell_from_the_namespace(tmp_path):
    namespace = {"preset": "smoke", "seed": 3, "results_dir": str(tmp_path), "depth": 4, "net_width": None,
                 "unrelated": object()}
    cfg = config.resolve_notebook("01", namespace)
    assert (cfg.preset, cfg.seed, cfg.depth) == ("smoke", 3, 4)
    assert cfg.net_width == config.preset_table("01", "smoke")["net_width"]
    with pytest.raises(ConfigError, match="depth must be an integer >= 3"):
        config.resolve_notebook("01", {**namespace, "depth": 0})
