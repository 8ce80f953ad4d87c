"""Chapter 6 presets resolve, and its parameter checks reject values the chapter cannot use."""
import pytest

from layerwise import config
from layerwise.config import ConfigError


@pytest.mark.parametrize("preset", config.PRESET_NAMES)
def test_every_chapter_06_preset_resolves(preset, tmp_path):
    cfg = config.resolve("06", preset, results_dir=tmp_path)
    assert {0.9, 1.0} <= set(cfg.p_values) and cfg.deep_depth >= 2


@pytest.mark.parametrize("name, value, words", [
    ("p_values", [0.9, 0.99], "include"),
    ("p_values", [0.2, 0.9, 1.0], "[0.5, 1]"),
    ("lms_margin", 0.3, "five slabs"),
    ("moons_margin", 0.0, "non-zero"),
    ("head_lr", -1.0, "> 0"),
    ("moons_seeds", 0, ">= 1"),
    ("sd_coefs", [-0.1], ">= 0"),
])
def test_chapter_06_rejects_bad_values_with_a_message_naming_them(name, value, words, tmp_path):
    with pytest.raises(ConfigError, match=name) as err:
        config.resolve("06", "smoke", results_dir=tmp_path, **{name: value})
    assert words in str(err.value)
