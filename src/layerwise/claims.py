"""A chapter's claims ledger: each claim's source, statement, test, measured value and verdict.

    ledger = Ledger(cfg)
    ledger.check("wang23-geometric-compression", measured=r2, test=">= 0.999",
                 source="Wang et al. 2023, Fig. 4", statement="log C_l is linear in l")
    ledger.record("rate", 0.285)   # a headline number, gathered by `layerwise sweep`
    ledger.table()          # the verdict table shown in the chapter
    ledger.save()           # claims.json in cfg.results_dir, written atomically

`test` is a small expression applied to the measured number (to every element of a list or dict):
">= a", "> a", "<= a", "< a", "in [a, b]", "within p% of a". A claim whose test cannot be written
that way passes `passed=` explicitly and describes its test in words.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .io import atomic_write_json

REPRODUCED, NOT_REPRODUCED = "reproduced", "not reproduced"
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


class ClaimError(ValueError):
    """A claim was recorded with a malformed test or a duplicate id."""


@dataclass
class Claim:
    id: str
    statement: str
    source: str
    test: str
    measured: Any
    verdict: str
    note: str = ""
    section: str = ""


@dataclass
class Ledger:
    """The claims of one chapter run; `cfg` is the chapter's resolved Config."""

    cfg: Any
    claims: list[Claim] = field(default_factory=list)
    numbers: dict[str, float | None] = field(default_factory=dict)

    def check(self, claim_id: str, *, measured: Any, test: str, source: str, statement: str,
              passed: bool | None = None, note: str = "", section: str = "") -> Claim:
        """Record a claim and return it with its verdict (computed from `test` unless `passed`)."""
        if any(c.id == claim_id for c in self.claims):
            raise ClaimError(f"claim {claim_id!r} was already checked in this chapter")
        ok = evaluate(test, measured) if passed is None else bool(passed)
        claim = Claim(claim_id, statement, source, test, _plain(measured),
                      REPRODUCED if ok else NOT_REPRODUCED, note, section)
        self.claims.append(claim)
        return claim

    def record(self, name: str, value: Any) -> float | None:
        """Declare a headline number of the run (saved under "numbers"); return it as a float.

        Sweeps gather these numbers across grid points; NaN and infinities are saved as null.
        """
        if name in self.numbers:
            raise ClaimError(f"number {name!r} was already recorded in this chapter")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ClaimError(f"number {name!r} must be a single number, got {value!r}") from None
        self.numbers[name] = number if math.isfinite(number) else None
        return self.numbers[name]

    def summary(self) -> str:
        """Return "N of M claims reproduced"."""
        n = sum(c.verdict == REPRODUCED for c in self.claims)
        return f"{n} of {len(self.claims)} claims reproduced"

    def table(self):
        """Return the verdict table as a pandas DataFrame (one row per claim)."""
        import pandas as pd

        rows = [{"claim": c.id, "statement": c.statement, "test": c.test, "measured": format_measured(c.measured),
                 "verdict": c.verdict, "source": c.source, "note": c.note} for c in self.claims]
        return pd.DataFrame(rows, columns=["claim", "statement", "test", "measured", "verdict", "source", "note"])

    def to_dict(self) -> dict[str, Any]:
        """Return the ledger as plain data: the run's parameters and every claim."""
        cfg = self.cfg
        return {"chapter": cfg.chapter, "preset": cfg.preset, "seed": cfg.seed, "params": cfg.as_dict(),
                "summary": self.summary(), "claims": [asdict(c) for c in self.claims],
                "numbers": dict(self.numbers)}

    def save(self, path: str | Path | None = None) -> Path:
        """Write the ledger as JSON (default: claims.json in the results folder) atomically."""
        return atomic_write_json(Path(path) if path else Path(self.cfg.results_dir) / "claims.json", self.to_dict())


def evaluate(test: str, measured: Any) -> bool:
    """Return whether `measured` (a number, or every number of a list/dict) satisfies `test`."""
    values = _flatten(measured)
    if not values:
        raise ClaimError(f"claim measured nothing ({measured!r})")
    predicate = _parse(test)
    return all(v is not None and math.isfinite(v) and predicate(v) for v in values)


def _parse(test: str):
    text = test.strip()
    m = re.fullmatch(rf"(>=|<=|>|<)\s*({_NUM})", text)
    if m:
        op, a = m.group(1), float(m.group(2))
        return {">=": lambda v: v >= a, "<=": lambda v: v <= a, ">": lambda v: v > a, "<": lambda v: v < a}[op]
    m = re.fullmatch(rf"in\s*\[\s*({_NUM})\s*,\s*({_NUM})\s*\]", text)
    if m:
        lo, hi = float(m.group(1)), float(m.group(2))
        return lambda v: lo <= v <= hi
    m = re.fullmatch(rf"within\s*({_NUM})\s*%\s*of\s*({_NUM})", text)
    if m:
        pct, ref = float(m.group(1)) / 100, float(m.group(2))
        return lambda v: abs(v - ref) <= pct * abs(ref)
    raise ClaimError(f"cannot read test {test!r}; use '>= a', '> a', '<= a', '< a', 'in [a, b]', "
                     "'within p% of a', or pass passed=... with a test described in words")


def _flatten(measured: Any) -> list[float | None]:
    if isinstance(measured, dict):
        return [v for x in measured.values() for v in _flatten(x)]
    if isinstance(measured, (list, tuple)):
        return [v for x in measured for v in _flatten(x)]
    if hasattr(measured, "tolist"):
        return _flatten(measured.tolist())
    if isinstance(measured, bool):
        return [float(measured)]
    return [float(measured)] if measured is not None else [None]


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def format_measured(value: Any) -> str:
    """Return a short human-readable form of a measured value (4 significant digits)."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_measured(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_measured(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:.4g}"
    return str(value)
