"""A chapter's ledger: sanity entries apart from claims, claims with controls, seeds and a rule.

    ledger = Ledger(cfg)
    ledger.sanity("fle-identity", measured=err, test="<= 1e-12",
                  statement="the chain-rule identity holds in float64")        # a bug if it fails
    ledger.claim("wang23-geometric-compression", source="Wang et al. 2023, Fig. 4",
                 statement="log C_l is linear in l", test=">= 0.999",
                 values={0: 0.99998, 1: 0.99999, 2: 0.99997},            # one value per seed
                 control=Control("untrained net", {0: 0.91, 1: 0.93, 2: 0.90}),
                 rule="all", section="1. The theory check")
    ledger.record("rate", 0.285)      # a headline number, gathered by `layerwise sweep`
    ledger.save()                     # claims.json, written atomically; raises SanityError after
                                      # writing when a sanity entry failed

Kinds. A `sanity` entry (an identity, code against a reference, a closed form) cannot fail unless the
code is wrong: it never counts as a reproduction and a failing one fails the chapter run. A `claim`
is a statement about trained networks or data; only claims count in a headline.

The test language, applied to one seed's value (a number, a sequence or a dict):
    ">= a", "> a", "<= a", "< a", "in [a, b]", "within p% of a"   every number must satisfy it
    "first|last|min|max|mean OP a"                               the statistic of a sequence
    "increasing", "decreasing"                                  strict; an equal neighbour is a tie
    "non-decreasing", "non-increasing"                          ties allowed
    "spearman OP a"                                             rank correlation with the position
    "T1 and T2"                                                 both
    {"key": "test", ...}                                        per key of a dict value
Each test gives pass, fail or tie (a strict comparison met with equality, an ordering broken only by
equal neighbours). Ties are never counted as passes.

Verdicts. A claim is evaluated per seed, then by its declared `rule`:
    "all"        reproduced when every seed passes, not reproduced when every seed fails
    "k of n"     reproduced when >= k seeds pass, not reproduced when >= k fail
    "mean-ci"    a 95% bootstrap interval of the mean of a scalar value: reproduced when the whole
                 interval passes, not reproduced when it all fails (a one-sided comparison test)
anything else is `inconclusive`, with its reason: seeds disagree, ties decide it, the interval
straddles the threshold, fewer seeds than `MIN_SEEDS`, a precondition failed, or the control passes
the same test (a control is measured in the same run: an untrained network, shuffled labels, the raw
input, the epoch index...) on any seed. With `margin` (a test on value - control, per seed, e.g. ">= 0.05") the
claim instead states how far it must beat its control. With `over` the values are given per analysis
choice ({threshold: {seed: value}}) and the claim must hold at every choice; a verdict that changes
with the choice is inconclusive and says where it changes.
"""
from __future__ import annotations

import html
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .io import atomic_write_json

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
PASS, FAIL, TIE = "pass", "fail", "tie"
MIN_SEEDS = 3
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


class ClaimError(ValueError):
    """A ledger entry was declared wrongly: malformed test or rule, duplicate id, missing control."""


class SanityError(AssertionError):
    """A sanity entry failed: the code is wrong, not the paper."""


@dataclass(frozen=True)
class Control:
    """What could fake a claim, measured in the same run: `values` per seed (or per choice, then seed)."""

    name: str
    values: Any


@dataclass
class Entry:
    """One ledger entry as saved in claims.json (kind "claim" or "sanity")."""

    id: str
    kind: str
    statement: str
    source: str
    test: Any
    verdict: str
    reason: str
    measured: str
    values: Any = None
    rule: str = ""
    control: dict[str, Any] | None = None
    margin: str = ""
    over: str = ""
    by_choice: dict[str, str] | None = None
    section: str = ""
    note: str = ""
    explain: str = ""


@dataclass
class Ledger:
    """The sanity entries and claims of one chapter run; `cfg` is the chapter's resolved Config."""

    cfg: Any
    entries: list[Entry] = field(default_factory=list)
    numbers: dict[str, float | None] = field(default_factory=dict)
    min_seeds: int = MIN_SEEDS

    @property
    def claims(self) -> list[Entry]:
        """The claim entries (not the sanity entries), in the order they were declared."""
        return [e for e in self.entries if e.kind == "claim"]

    @property
    def sanity_entries(self) -> list[Entry]:
        """The sanity entries, in the order they were declared."""
        return [e for e in self.entries if e.kind == "sanity"]

    def sanity(self, entry_id: str, *, measured: Any, test: str, statement: str, source: str = "",
               section: str = "", note: str = "") -> Entry:
        """Record an identity or implementation check; its verdict is "ok" or "FAILED" (a bug)."""
        self._new_id(entry_id)
        outcome = evaluate_value(test, measured)
        entry = Entry(entry_id, "sanity", statement, source, test, "ok" if outcome == PASS else "FAILED",
                      "" if outcome == PASS else f"measured {format_measured(measured)} fails {test!r}",
                      format_measured(measured), _plain(measured), section=section, note=note)
        self.entries.append(entry)
        return entry

    def claim(self, claim_id: str, *, statement: str, source: str, test: Any, values: Any,
              control: Control | None, rule: str = "all", margin: str = "", over: str = "",
              requires: Mapping[str, bool] | None = None, section: str = "", note: str = "",
              explain: Mapping[str, str] | None = None) -> Entry:
        """Record a claim about trained networks or data and return it with its verdict and reason.

        values: {seed: value} (a list is taken as seeds cfg.seed, cfg.seed + 1, ...); with `over`,
        {choice: {seed: value}}. control: a Control measured the same way (per seed, or per choice
        and seed); None is refused. requires: named preconditions; any False makes the claim
        inconclusive. explain: the author's reading per verdict, formatted with `{measured}` and
        `{control}`, shown in the closing section.
        """
        self._new_id(claim_id)
        if control is None or not isinstance(control, Control):
            raise ClaimError(f"claim {claim_id!r} needs a Control measured in the same run (an untrained "
                             "network, shuffled labels, the raw input, a trivial predictor...)")
        _parse_rule(rule)
        choices = _by_choice(values, over, self._seed_keys)
        control_choices = _by_choice(control.values, over, self._seed_keys, like=choices)
        outcomes = {c: _judge(test, rule, margin, choices[c], control_choices[c], control.name, self.min_seeds)
                    for c in choices}
        verdict, reason = _combine(outcomes, over)
        failed = [name for name, ok in (requires or {}).items() if not ok]
        if failed:
            verdict, reason = INCONCLUSIVE, "precondition not met: " + "; ".join(failed)
        first = next(iter(choices))
        entry = Entry(
            claim_id, "claim", statement, source, test, verdict, reason,
            _summary(choices[first]) + (f" (at {over} = {first}; see by_choice)" if over else ""),
            {c: _plain(v) for c, v in choices.items()} if over else _plain(choices[first]), rule,
            {"name": control.name, "measured": _summary(control_choices[first]),
             "values": _plain(control_choices[first])},
            margin, over, {c: f"{v}: {r}" for c, (v, r) in outcomes.items()} if over else None,
            section, note)
        if explain and verdict in explain:
            entry.explain = explain[verdict].format(measured=entry.measured, control=entry.control["measured"])
        self.entries.append(entry)
        return entry

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

    def counts(self) -> dict[str, int]:
        """Return the number of claims per verdict (sanity entries not counted)."""
        return {v: sum(c.verdict == v for c in self.claims) for v in VERDICTS}

    def summary(self) -> str:
        """Return "N of M claims reproduced, K not reproduced, J inconclusive"."""
        n = self.counts()
        return (f"{n[REPRODUCED]} of {len(self.claims)} claims reproduced, {n[NOT_REPRODUCED]} not reproduced, "
                f"{n[INCONCLUSIVE]} inconclusive")

    def table(self, kind: str = "claim"):
        """Return the claims (or sanity entries) as a pandas DataFrame, one row each."""
        import pandas as pd

        if kind == "sanity":
            rows = [{"check": e.id, "statement": e.statement, "test": _test_text(e.test), "measured": e.measured,
                     "result": e.verdict} for e in self.sanity_entries]
            return pd.DataFrame(rows, columns=["check", "statement", "test", "measured", "result"])
        rows = [{"claim": c.id, "statement": c.statement, "test": _test_text(c.test), "measured": c.measured,
                 "control": f"{c.control['name']}: {c.control['measured']}" if c.control else "",
                 "verdict": c.verdict, "reason": c.reason} for c in self.claims]
        return pd.DataFrame(rows, columns=["claim", "statement", "test", "measured", "control", "verdict", "reason"])

    def to_dict(self) -> dict[str, Any]:
        """Return the ledger as plain data: the run's parameters, every entry and the numbers."""
        cfg = self.cfg
        return {"chapter": cfg.chapter, "preset": cfg.preset, "seed": cfg.seed, "params": cfg.as_dict(),
                "summary": self.summary(), "counts": self.counts(),
                "claims": [asdict(c) for c in self.claims],
                "sanity": [asdict(e) for e in self.sanity_entries], "numbers": dict(self.numbers)}

    def save(self, path: str | Path | None = None) -> Path:
        """Write the ledger as JSON (default: claims.json in the results folder) atomically.

        Raises SanityError after writing when a sanity entry failed: the chapter run then fails.
        """
        target = atomic_write_json(Path(path) if path else Path(self.cfg.results_dir) / "claims.json",
                                   self.to_dict())
        bad = [e for e in self.sanity_entries if e.verdict != "ok"]
        if bad:
            raise SanityError("sanity check(s) failed, the code is wrong: "
                              + "; ".join(f"{e.id} ({e.reason})" for e in bad))
        return target

    def closing(self) -> "Markdown":
        """Return the closing section, from the run: the claims grouped by verdict, each with its
        measured values, control, reason and the author's reading for that verdict; then the sanity
        checks in one line. Displays as Markdown in Jupyter and on the site."""
        lines = [f"**{self.summary()}** (sanity checks: {self._sanity_line()}).", ""]
        for verdict in VERDICTS:
            group = [c for c in self.claims if c.verdict == verdict]
            if not group:
                continue
            lines += [f"**{verdict.capitalize()}** ({len(group)})", ""]
            for c in group:
                # a raw HTML link: Sphinx ids of headings are not MyST reference targets
                where = f' (<a href="#{anchor(c.section)}">{html.escape(c.section)}</a>)' if c.section else ""
                lines.append(f"- *{c.statement}* (`{c.id}`, {c.source}){where}: measured {c.measured}; "
                             f"control {c.control['name']}: {c.control['measured']}. {c.reason}."
                             + (f" {c.explain}" if c.explain else ""))
            lines.append("")
        return Markdown("\n".join(lines))

    def verdict_box(self) -> "Markdown":
        """Return the results box of the claims by verdict (the box the site puts at the top of the
        chapter, `scoreboard.verdict_box`), each claim linked to its section."""
        from .scoreboard import verdict_box

        return Markdown(verdict_box([asdict(c) for c in self.claims], preset=getattr(self.cfg, "preset", "")))

    def _sanity_line(self) -> str:
        entries = self.sanity_entries
        bad = sum(e.verdict != "ok" for e in entries)
        return f"{len(entries) - bad} of {len(entries)} pass" if entries else "none"

    def _new_id(self, entry_id: str) -> None:
        if not entry_id or any(e.id == entry_id for e in self.entries):
            raise ClaimError(f"entry {entry_id!r} was already recorded in this chapter (ids must be unique)")

    def _seed_keys(self, n: int) -> list[str]:
        base = int(getattr(self.cfg, "seed", 0) or 0)
        return [str(base + i) for i in range(n)]


@dataclass(frozen=True)
class Markdown:
    """Markdown text that Jupyter and myst-nb render as Markdown."""

    text: str

    def _repr_markdown_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def anchor(section: str) -> str:
    """Return the HTML id Sphinx gives a heading with text `section` ("2. The rate" -> "the-rate")."""
    text = re.sub(r"[^a-z0-9]+", "-", section.lower())
    return re.sub(r"^[-0-9]+|-+$", "", text)


def glue(name: str, value: Any, fmt: str | None = None) -> Any:
    """Glue `value` under `name` for the prose (myst-nb's `{glue:text}` role) and return it.

    With `fmt` (e.g. ".3f") the value is glued as formatted text, so the page shows exactly that.
    """
    from myst_nb import glue as nb_glue

    nb_glue(name, format(value, fmt) if fmt else value, display=False)
    return value


# --- the test language --------------------------------------------------------------------------

def evaluate_value(test: Any, value: Any) -> str:
    """Return PASS, FAIL or TIE for one seed's `value` under `test` (see the module docstring)."""
    if isinstance(test, Mapping):
        if not isinstance(value, Mapping):
            raise ClaimError(f"a per-key test {test!r} needs a dict value, got {value!r}")
        missing = sorted(set(test) - set(map(str, value)))
        if missing:
            raise ClaimError(f"test names key {missing[0]!r} that the value lacks (keys: {list(value)})")
        plain = {str(k): v for k, v in value.items()}
        return _all([evaluate_value(t, plain[str(k)]) for k, t in test.items()])
    text = str(test).strip()
    if re.search(r"\s+and\s+", text):
        return _all([evaluate_value(part, value) for part in re.split(r"\s+and\s+", text)])
    return _atom(text, value)


def evaluate(test: Any, measured: Any) -> bool:
    """Return whether `measured` passes `test` (a tie does not pass)."""
    return evaluate_value(test, measured) == PASS


def _all(outcomes: Sequence[str]) -> str:
    return FAIL if FAIL in outcomes else TIE if TIE in outcomes else PASS


_STATS = {"first": lambda v: v[0], "last": lambda v: v[-1], "min": min, "max": max,
          "mean": lambda v: float(np.mean(v)), "spearman": lambda v: spearman_with_position(v)}


def _atom(text: str, value: Any) -> str:
    order = re.fullmatch(r"(non-)?(increasing|decreasing)", text)
    if order:
        weak = bool(order.group(1))  # "non-decreasing" is the weak form of "increasing"
        return _ordering(_sequence(value, text), increasing=(order.group(2) == "increasing") != weak, strict=not weak)
    m = re.fullmatch(rf"(first|last|min|max|mean|spearman)\s+(.+)", text)
    if m:
        seq = _sequence(value, text)
        return _comparison(m.group(2), [_STATS[m.group(1)](seq)])
    return _comparison(text, _flatten(value))


def _sequence(value: Any, test: str) -> list[float]:
    seq = _flatten(value)
    if len(seq) < 2 or any(v is None or not math.isfinite(v) for v in seq):
        raise ClaimError(f"test {test!r} needs a sequence of >= 2 finite numbers, got {value!r}")
    return seq


def _ordering(seq: Sequence[float], *, increasing: bool, strict: bool) -> str:
    steps = np.diff(np.asarray(seq, dtype=float)) * (1 if increasing else -1)
    if np.any(steps < 0):
        return FAIL
    if strict and np.any(steps == 0):
        return TIE
    return PASS


def _comparison(text: str, values: Sequence[float | None]) -> str:
    if not values:
        raise ClaimError(f"test {text!r} received no numbers")
    predicate = _parse(text)
    return _all([FAIL if v is None or not math.isfinite(v) else predicate(v) for v in values])


def _parse(test: str):
    """Return a function value -> PASS/FAIL/TIE for a comparison test."""
    text = test.strip()
    m = re.fullmatch(rf"(>=|<=|>|<)\s*({_NUM})", text)
    if m:
        op, a = m.group(1), float(m.group(2))
        if op in (">", "<"):
            return lambda v: TIE if v == a else (PASS if (v > a if op == ">" else v < a) else FAIL)
        return lambda v: PASS if (v >= a if op == ">=" else v <= a) else FAIL
    m = re.fullmatch(rf"in\s*\[\s*({_NUM})\s*,\s*({_NUM})\s*\]", text)
    if m:
        lo, hi = float(m.group(1)), float(m.group(2))
        return lambda v: PASS if lo <= v <= hi else FAIL
    m = re.fullmatch(rf"within\s*({_NUM})\s*%\s*of\s*({_NUM})", text)
    if m:
        pct, ref = float(m.group(1)) / 100, float(m.group(2))
        return lambda v: PASS if abs(v - ref) <= pct * abs(ref) else FAIL
    raise ClaimError(f"cannot read test {test!r}; use '>= a', '> a', '<= a', '< a', 'in [a, b]', "
                     "'within p% of a', 'last|first|min|max|mean|spearman OP a', '(non-)increasing', "
                     "'(non-)decreasing', 'T1 and T2', or a dict of per-key tests")


def spearman_with_position(seq: Sequence[float]) -> float:
    """Return Spearman's rank correlation between `seq` and its positions 0..n-1 (ties averaged)."""
    from scipy.stats import spearmanr

    seq = np.asarray(seq, dtype=float)
    if np.ptp(seq) == 0:
        return 0.0
    return float(spearmanr(np.arange(seq.size), seq).statistic)


# --- seeds, rules, controls ---------------------------------------------------------------------

def _parse_rule(rule: str) -> tuple[str, int | None]:
    if rule in ("all", "mean-ci"):
        return rule, None
    m = re.fullmatch(r"(\d+)\s+of\s+(\d+)", rule.strip())
    if m and 1 <= int(m.group(1)) <= int(m.group(2)):
        return "k of n", int(m.group(1))
    raise ClaimError(f"rule must be 'all', 'k of n' (e.g. '2 of 3') or 'mean-ci', got {rule!r}")


def bootstrap_mean_interval(values: Sequence[float], *, level: float = 0.95, n_boot: int = 4000,
                            seed: int = 0) -> tuple[float, float]:
    """Return the percentile bootstrap interval of the mean of `values` (deterministic given `seed`)."""
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        raise ClaimError(f"a bootstrap interval needs >= 2 values, got {x.size}")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _judge(test: Any, rule: str, margin: str, values: dict[str, Any], control: dict[str, Any],
           control_name: str, min_seeds: int) -> tuple[str, str]:
    """Return (verdict, reason) of one set of per-seed values against its control."""
    kind, k = _parse_rule(rule)
    n = len(values)
    if kind == "mean-ci":
        verdict, reason = _judge_interval(test, values)
    else:
        k = n if kind == "all" else k
        if k > n:
            raise ClaimError(f"rule {rule!r} needs at least {k} seeds, got {n}")
        outcomes = {s: _seed_outcome(test, margin, v, control.get(s)) for s, v in values.items()}
        verdict, reason = _tally(outcomes, k, rule)
    if n < min_seeds:
        return INCONCLUSIVE, f"only {n} seed{'s' if n != 1 else ''} ({reason}); a claim needs >= {min_seeds}"
    if verdict != REPRODUCED or margin:
        return verdict, reason
    if kind == "mean-ci":
        ends, c_reason = _interval_ends(test, control)
        faked = PASS in ends  # an end that only ties the threshold does not fake the effect
    else:
        c_outcomes = [evaluate_value(test, v) for v in control.values()]
        faked = PASS in c_outcomes
        c_reason = f"passes on {c_outcomes.count(PASS)}/{len(c_outcomes)} seeds"
    if faked:
        return INCONCLUSIVE, f"{reason}, but the control passes the same test too ({control_name} {c_reason})"
    return REPRODUCED, f"{reason}; the control does not ({control_name} {c_reason})"


def _seed_outcome(test: Any, margin: str, value: Any, control_value: Any) -> str:
    outcome = evaluate_value(test, value)
    if not margin:
        return outcome
    if control_value is None:
        raise ClaimError("a margin over the control needs a control value for every seed")
    diff = _scalar(value, "margin") - _scalar(control_value, "margin")
    return _all([outcome, _comparison(margin, [diff])])


def _tally(outcomes: dict[str, str], k: int, rule: str) -> tuple[str, str]:
    n = len(outcomes)
    passes, fails = [sum(o == x for o in outcomes.values()) for x in (PASS, FAIL)]
    ties = n - passes - fails
    text = f"{passes}/{n} seeds pass" + (f", {ties} tie{'s' if ties > 1 else ''}" if ties else "")
    if passes >= k:
        return REPRODUCED, f"{text} (rule: {rule})"
    if fails >= k:
        return NOT_REPRODUCED, f"{fails}/{n} seeds fail (rule: {rule})"
    why = "ties decide it" if ties and passes + ties >= k else "seeds disagree"
    return INCONCLUSIVE, f"{why}: {text}, {fails} fail (rule: {rule})"


def _interval_ends(test: Any, values: dict[str, Any]) -> tuple[list[str], str]:
    """Return the outcomes of `test` at both ends of the bootstrap interval of the mean, and its text."""
    text = str(test).strip()
    if not re.fullmatch(rf"(>=|<=|>|<)\s*{_NUM}", text):
        raise ClaimError(f"rule 'mean-ci' needs a one-sided comparison test ('>= a', '< a'...), got {test!r}")
    scalars = [_scalar(v, "mean-ci") for v in values.values()]
    if len(scalars) < 2:
        return [TIE, TIE], f"one seed ({scalars[0]:.4g}) gives no interval"
    lo, hi = bootstrap_mean_interval(scalars)
    return ([evaluate_value(text, lo), evaluate_value(text, hi)],
            f"95% bootstrap interval of the mean [{lo:.4g}, {hi:.4g}] over {len(values)} seeds")


def _judge_interval(test: Any, values: dict[str, Any]) -> tuple[str, str]:
    text = str(test).strip()
    ends, interval = _interval_ends(test, values)
    if ends == [TIE, TIE] and len(values) < 2:
        return INCONCLUSIVE, interval
    if ends == [PASS, PASS]:
        return REPRODUCED, f"{interval} passes {text!r}"
    if ends == [FAIL, FAIL]:
        return NOT_REPRODUCED, f"{interval} fails {text!r}"
    return INCONCLUSIVE, f"{interval} straddles the threshold of {text!r}"


def _combine(outcomes: dict[str, tuple[str, str]], over: str) -> tuple[str, str]:
    verdicts = {v for v, _ in outcomes.values()}
    if not over:
        return next(iter(outcomes.values()))
    if len(verdicts) == 1:
        verdict = verdicts.pop()
        return verdict, f"at every {over} in {list(outcomes)}: {next(iter(outcomes.values()))[1]}"
    where = "; ".join(f"{v} at {over} = {c}" for c, (v, _) in outcomes.items())
    return INCONCLUSIVE, f"depends on the {over}: {where}"


def _by_choice(values: Any, over: str, seed_keys, *, like: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Return {choice: {seed: value}} ({"": ...} without `over`), seeds as strings.

    With `like` (the claim's choices), per-seed values that are not given per choice are used at
    every choice (a control that does not depend on the analysis choice).
    """
    def per_seed(v: Any) -> dict[str, Any]:
        if isinstance(v, Mapping):
            return {str(s): x for s, x in v.items()}
        if isinstance(v, (list, tuple)):
            return dict(zip(seed_keys(len(v)), v))
        raise ClaimError(f"values must be {{seed: value}} or a list with one value per seed, got {v!r}")

    if like is not None:
        nested = isinstance(values, Mapping) and {str(c) for c in values} == set(like)
        return {str(c): per_seed(v) for c, v in values.items()} if nested else {c: per_seed(values) for c in like}
    if not over:
        flat = per_seed(values)
        if not flat:
            raise ClaimError("a claim needs at least one seed's value")
        return {"": flat}
    if not isinstance(values, Mapping) or not values:
        raise ClaimError(f"with over={over!r}, values must be {{choice: {{seed: value}}}}")
    return {str(c): per_seed(v) for c, v in values.items()}


def _scalar(value: Any, what: str) -> float:
    flat = _flatten(value)
    if len(flat) != 1 or flat[0] is None:
        raise ClaimError(f"{what} needs one number per seed, got {value!r}")
    return flat[0]


def _flatten(measured: Any) -> list[float | None]:
    if isinstance(measured, Mapping):
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
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _summary(per_seed: Mapping[str, Any]) -> str:
    """Return "v0 / v1 / v2 (seeds 0, 1, 2)" for scalars, else each seed's short form."""
    seeds = ", ".join(per_seed)
    if all(len(_flatten(v)) == 1 and not isinstance(v, (Mapping, list, tuple)) for v in per_seed.values()):
        return " / ".join(format_measured(v) for v in per_seed.values()) + f" (seeds {seeds})"
    return "; ".join(f"seed {s}: {format_measured(v)}" for s, v in per_seed.items())


def _test_text(test: Any) -> str:
    if isinstance(test, Mapping):
        return "; ".join(f"{k}: {t}" for k, t in test.items())
    return str(test)


def format_measured(value: Any) -> str:
    """Return a short human-readable form of a measured value (4 significant digits)."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {format_measured(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_measured(v) for v in value) + "]"
    if hasattr(value, "tolist"):
        return format_measured(value.tolist())
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:.4g}"
    return str(value)
