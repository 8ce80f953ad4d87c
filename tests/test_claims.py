import json

import pytest

from layerwise import config
from layerwise.claims import ClaimError, Ledger, evaluate


@pytest.mark.parametrize("test, value, expected", [
    (">= 0.999", 0.9995, True), (">= 0.999", 0.99, False), ("< 0.1", 0.05, True),
    ("in [0.25, 0.32]", [0.28, 0.29], True), ("in [0.25, 0.32]", [0.28, 0.33], False),
    ("within 5% of 0.285", 0.29, True), ("within 5% of 0.285", 0.31, False),
    ("<= 3", {"a": 1, "b": 3}, True), (">= 0", float("nan"), False),
])
def test_claim_tests_evaluate_every_measured_number(test, value, expected):
    assert evaluate(test, value) is expected


def test_malformed_test_is_rejected():
    with pytest.raises(ClaimError, match="cannot read test"):
        evaluate("about 3", 3)


def test_ledger_records_verdicts_and_saves_json(tmp_path):
    cfg = config.resolve("01", "smoke", results_dir=tmp_path)
    ledger = Ledger(cfg)
    ledger.check("a", measured=0.5, test=">= 0.4", source="s", statement="st")
    ledger.check("b", measured={"x": 1}, test="both", passed=False, source="s", statement="st")
    with pytest.raises(ClaimError, match="already checked"):
        ledger.check("a", measured=1, test=">= 0", source="s", statement="st")
    assert ledger.summary() == "1 of 2 claims reproduced"
    saved = json.loads(ledger.save().read_text())
    assert [c["verdict"] for c in saved["claims"]] == ["reproduced", "not reproduced"]
    assert saved["params"]["preset"] == "smoke"
    assert list(ledger.table().columns)[:5] == ["claim", "statement", "test", "measured", "verdict"]
