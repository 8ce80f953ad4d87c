"""How the ledger decides: the per-seed test language and the verdict rules (used by `claims.Ledger`).

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

Rules (`judge`), each applied to the claim and, by the SAME rule, to its control:
    "mean"        Student-t 95% interval of the mean of one number per seed against a comparison test
                  ("OP a", "in [a, b]", "within p% of a"); with a margin, the interval of the mean
                  paired effect (value - control per seed) must clear the margin too. Entirely
                  passing -> positive, entirely failing -> negative, else undecided, with the number
                  of seeds that would decide it at the observed spread. ("mean-ci" is an alias.)
    "rate >= p"   per-seed pass/fail (test, and margin on the paired effect); the Clopper-Pearson
                  95% interval of the pass rate: lower bound >= p -> positive (when the control's
                  interval lies below the claim's), upper bound < p -> negative.
    "all"         every seed passes -> positive, every seed fails -> negative.
    "k of n"      >= k seeds pass -> positive, >= k fail -> negative.
A positive claim whose control is positive too ("the control does as well") is undecided. With a
margin the control is built into the effect and its own outcome is only stated. A value None is
censored (the event did not happen within the run): per-seed rules are judged with censored seeds as
passes of the claim (failures of the control) and the other way round, and the verdict stands only
when both agree; the "mean" rule cannot average a censored seed and is undecided.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from . import stats

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
SUPPORTED, NOT_SUPPORTED = "supported", "not supported"
PASS, FAIL, TIE = "pass", "fail", "tie"
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


class ClaimError(ValueError):
    """A ledger entry was declared wrongly: malformed test or rule, duplicate id, missing control."""


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


def spearman_with_position(seq: Sequence[float]) -> float:
    """Return Spearman's rank correlation between `seq` and its positions 0..n-1 (ties averaged)."""
    from scipy.stats import spearmanr

    seq = np.asarray(seq, dtype=float)
    if np.ptp(seq) == 0:
        return 0.0
    return float(spearmanr(np.arange(seq.size), seq).statistic)


_STATS = {"first": lambda v: v[0], "last": lambda v: v[-1], "min": min, "max": max,
          "mean": lambda v: float(np.mean(v)), "spearman": spearman_with_position}


def _atom(text: str, value: Any) -> str:
    order = re.fullmatch(r"(non-)?(increasing|decreasing)", text)
    if order:
        weak = bool(order.group(1))  # "non-decreasing" is the weak form of "increasing"
        return _ordering(_sequence(value, text), increasing=(order.group(2) == "increasing") != weak, strict=not weak)
    m = re.fullmatch(r"(first|last|min|max|mean|spearman)\s+(.+)", text)
    if m:
        return _comparison(m.group(2), [_STATS[m.group(1)](_sequence(value, text))])
    return _comparison(text, flatten(value))


def _sequence(value: Any, test: str) -> list[float]:
    seq = flatten(value)
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
    band = _band(text)
    if band:
        lo, hi = band
        return lambda v: PASS if lo <= v <= hi else FAIL
    raise ClaimError(f"cannot read test {test!r}; use '>= a', '> a', '<= a', '< a', 'in [a, b]', "
                     "'within p% of a', 'last|first|min|max|mean|spearman OP a', '(non-)increasing', "
                     "'(non-)decreasing', 'T1 and T2', or a dict of per-key tests")


def _band(text: str) -> tuple[float, float] | None:
    """Return [lo, hi] of an "in [a, b]" or "within p% of a" test, else None."""
    m = re.fullmatch(rf"in\s*\[\s*({_NUM})\s*,\s*({_NUM})\s*\]", text.strip())
    if m:
        return float(m.group(1)), float(m.group(2))
    m = re.fullmatch(rf"within\s*({_NUM})\s*%\s*of\s*({_NUM})", text.strip())
    if m:
        pct, ref = float(m.group(1)) / 100, float(m.group(2))
        return ref - pct * abs(ref), ref + pct * abs(ref)
    return None


# --- rules --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """A parsed rule: kind "mean", "rate", "all" or "k of n"; `k` for k of n, `p` for a rate."""

    kind: str
    text: str
    k: int | None = None
    p: float | None = None


def parse_rule(rule: str) -> Rule:
    """Return the Rule of "mean" (or its old name "mean-ci"), "rate >= p", "all" or "k of n"."""
    text = str(rule).strip()
    if text in ("mean", "mean-ci"):
        return Rule("mean", "mean")
    if text == "all":
        return Rule("all", "all")
    m = re.fullmatch(rf"rate\s*>=\s*({_NUM})", text)
    if m and 0 < float(m.group(1)) <= 1:
        return Rule("rate", f"rate >= {m.group(1)}", p=float(m.group(1)))
    m = re.fullmatch(r"(\d+)\s+of\s+(\d+)", text)
    if m and 1 <= int(m.group(1)) <= int(m.group(2)):
        return Rule("k of n", text, k=int(m.group(1)))
    raise ClaimError(f"rule must be 'mean', 'rate >= p' (0 < p <= 1), 'all' or 'k of n' (e.g. '2 of 3'), "
                     f"got {rule!r}")


@dataclass
class Judgement:
    """The outcome of one claim (at one analysis choice): verdict in the words reproduced / not
    reproduced / inconclusive (the Ledger renames them for a book claim), the reason, what would
    decide it, compact numbers for the verdict box, and the control's outcome (always stated)."""

    verdict: str
    reason: str
    decide: str = ""
    value: str = ""            # the estimate: "mean 0.28, 95% CI [0.26, 0.30]", "0.28", "pass rate 7/8 ..."
    seeds: int = 0             # seeds judged
    passes: int | None = None  # seeds passing the per-seed test (None for "mean")
    interval: list[float] | None = None
    control: str = ""          # the control's outcome in words
    control_value: str = ""
    control_verdict: str = ""  # "passes", "fails", "undecided" or "too few seeds": the same rule on the control
    censored: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def tally(self) -> str:
        text = f"{self.passes}/{self.seeds} seeds pass" if self.passes is not None else f"{self.seeds} seeds"
        return text + (f", {self.censored} censored" if self.censored else "")


def judge(test: Any, rule: str, margin: str, values: Mapping[str, Any], control: Mapping[str, Any],
          control_name: str, *, min_seeds: int, censored: str = "") -> Judgement:
    """Judge one set of per-seed values against its control (see the module docstring)."""
    r = parse_rule(rule)
    n = len(values)
    if margin:
        missing = [s for s in values if s not in control]
        if missing:
            raise ClaimError(f"a margin is a paired effect: the control needs a value on every seed of the claim "
                             f"(missing: seeds {', '.join(missing)})")
    words = censored or "the event did not happen within the run"
    cens = sum(v is None for v in values.values())
    c_cens = sum(v is None for v in control.values())
    if r.kind == "mean":
        if cens or c_cens:
            j = Judgement(INCONCLUSIVE, f"censored: {cens} of {n} seeds ({words})"
                          + (f"; the control: {c_cens} of {len(control)}" if c_cens else "")
                          + "; a mean cannot average a censored seed",
                          f"{cens} of {n} seeds censored ({words}): a run long enough for every seed",
                          seeds=n, censored=cens)
        else:
            j = _judge_mean(test, margin, values, control, control_name)
    elif cens or c_cens:
        best = _judge_seeds(r, test, margin, values, control, control_name, claim_none=PASS)
        worst = _judge_seeds(r, test, margin, values, control, control_name, claim_none=FAIL)
        j = worst  # the observed passes: a censored seed is not a pass
        what = f"{cens} of {n} seeds" + (f", the control {c_cens} of {len(control)}" if c_cens else "")
        if best.verdict == worst.verdict:
            j.notes.append(f"censored: {what} ({words}); the verdict holds either way")
        else:
            j.verdict, j.reason = INCONCLUSIVE, (f"censored: {what} ({words}); counted as passes: {best.verdict}, "
                                                 f"as failures: {worst.verdict}")
            j.decide = f"{what} censored ({words}): a longer run would decide it"
        j.censored = cens
    else:
        j = _judge_seeds(r, test, margin, values, control, control_name, claim_none=PASS)
    if n < min_seeds:
        seeds = f"{n} seed{'s' if n != 1 else ''}"
        j.verdict, j.reason = INCONCLUSIVE, f"only {seeds} ({j.reason}); a claim needs >= {min_seeds}"
        j.decide = f"at least {min_seeds} seeds (this run has {n})"
    elif len(control) < min_seeds and not margin:
        seeds = f"{len(control)} usable seed{'s' if len(control) != 1 else ''}"
        j.verdict, j.reason = INCONCLUSIVE, f"the control has {seeds} ({j.reason}); a control needs >= {min_seeds}"
        j.decide = f"the control on at least {min_seeds} seeds (this run has {len(control)})"
    return j


def _judge_mean(test: Any, margin: str, values, control, control_name: str) -> Judgement:
    parts: list[tuple[str, _Side]] = []
    x = [scalar(v, "rule 'mean'") for v in values.values()]
    c = [scalar(v, "rule 'mean'") for v in control.values()]
    if test not in (None, ""):
        parts.append((_test_text(test), _interval_side(test, x)))
    if margin:
        effect = [scalar(values[s], "margin") - scalar(control[s], "margin") for s in values]
        parts.append((f"effect over the control {margin}", _interval_side(margin, effect)))
    first = parts[0][1]
    value = first.text if test not in (None, "") else f"effect {first.text}"
    if margin and test not in (None, ""):
        value += f"; effect {parts[-1][1].text}"
    ctrl = _interval_side(test, c) if test not in (None, "") else None
    j = Judgement(INCONCLUSIVE, "", value=value, seeds=len(x), interval=first.interval)
    if ctrl is not None:
        j.control_value, j.control_verdict = _mean_text(c), ctrl.outcome_word
        j.control = f"{control_name}: {ctrl.text}, {ctrl.outcome_word} {_test_text(test)!r}"
    else:
        j.control_value = _mean_text(c)
        j.control = f"{control_name}: {j.control_value}"
    failed = [(what, s) for what, s in parts if s.outcome == FAIL]
    undecided = [(what, s) for what, s in parts if s.outcome not in (PASS, FAIL)]
    if failed:
        what, s = failed[0]
        j.verdict, j.reason = NOT_REPRODUCED, f"95% interval {s.range} fails {what!r} ({s.text})"
    elif undecided:
        j.reason = "; ".join(f"95% interval {s.range} straddles {what!r}" for what, s in undecided)
        needs = [s.needed for _, s in undecided]
        j.decide = ("the interval would clear the threshold at about "
                    f"{max(needs)} seeds at the observed spread (this run has {len(x)})" if None not in needs
                    else "more seeds would not decide it at the observed spread: the mean sits on the threshold"
                    if any(s.distance == 0 for _, s in undecided) else
                    "more than 10,000 seeds at the observed spread: a larger effect or a lower spread would")
    else:
        j.reason = "; ".join(f"95% interval {s.range} passes {what!r}" for what, s in parts)
        if not margin and ctrl is not None and ctrl.outcome == PASS:
            j.reason += f", but the control does as well ({j.control})"
            effect = [a - b for a, b in (_pairs(values, control))]
            j.decide = ("the effect over the control: declare a margin (the paired effect here is "
                        + (_interval_side(">= 0", effect).text if len(effect) >= 2 else "not measurable") + ")")
        else:
            j.verdict = REPRODUCED
    return j


def _pairs(values, control):
    return [(scalar(values[s], "margin"), scalar(control[s], "margin")) for s in values
            if s in control and values[s] is not None and control[s] is not None]


@dataclass
class _Side:
    outcome: str          # PASS, FAIL or "straddles"
    text: str             # "mean 0.28, 95% CI [0.26, 0.30]"
    range: str            # "[0.26, 0.30]"
    interval: list[float] | None
    needed: int | None = None
    distance: float = 0.0

    @property
    def outcome_word(self) -> str:
        return {PASS: "passes", FAIL: "fails"}.get(self.outcome, "straddles")


def _interval_side(test: Any, x: Sequence[float]) -> _Side:
    """Return where the t-interval of the mean of `x` lies against a comparison test."""
    text = re.sub(r"^mean\s+", "", str(test).strip())
    one_sided = re.fullmatch(rf"(>=|<=|>|<)\s*({_NUM})", text)
    band = _band(text)
    if not one_sided and not band:
        raise ClaimError(f"rule 'mean' needs a comparison test ('>= a', '< a', 'in [a, b]', 'within p% of a'), "
                         f"got {test!r}")
    mean = float(np.mean(x)) if len(x) else float("nan")
    if len(x) < 2:
        return _Side("straddles", f"{_fmt(mean)} (one seed, no interval)" if x else "no values", "(none)", None)
    lo, hi = stats.t_interval(x)
    rng = f"[{_fmt(lo)}, {_fmt(hi)}]"
    side = _Side("straddles", f"mean {_fmt(mean)}, 95% CI {rng}", rng, [lo, hi])
    if one_sided:
        ends = [_parse(text)(lo), _parse(text)(hi)]
        side.outcome = PASS if ends == [PASS, PASS] else FAIL if ends == [FAIL, FAIL] else "straddles"
        side.distance = abs(mean - float(one_sided.group(2)))
    else:
        a, b = band
        side.outcome = PASS if a <= lo and hi <= b else FAIL if hi < a or lo > b else "straddles"
        side.distance = min(mean - a, b - mean) if a <= mean <= b else min(abs(mean - a), abs(mean - b))
    if side.outcome == "straddles":
        side.needed = stats.seeds_to_clear(float(np.std(x, ddof=1)), side.distance)
    return side


def _judge_seeds(r: Rule, test: Any, margin: str, values, control, control_name: str, *, claim_none: str) -> Judgement:
    """Judge a per-seed rule; censored (None) values count as `claim_none` for the claim and as the
    opposite for the control."""
    control_none = FAIL if claim_none == PASS else PASS
    outcomes = [_seed_outcome(test, margin, v, control.get(s), claim_none) for s, v in values.items()]
    c_outcomes = ([_seed_outcome(test, "", v, None, control_none) for v in control.values()]
                  if test not in (None, "") else [])
    verdict, reason, decide = _tally(r, outcomes)
    j = Judgement(verdict, reason, decide, seeds=len(outcomes), passes=outcomes.count(PASS))
    scalars = [flatten(v)[0] for v in values.values() if v is not None and _is_scalar(v)]
    if r.kind == "rate" and j.seeds:  # no seed left (all dropped): no interval, the tally says inconclusive
        lo, hi = stats.clopper_pearson(j.passes, j.seeds)
        j.interval = [lo, hi]
        j.value = f"pass rate {j.passes}/{j.seeds}, 95% CI [{_fmt(lo)}, {_fmt(hi)}]"
    elif len(scalars) == len(values):
        j.value = _mean_text(scalars)
    c_scalars = [flatten(v)[0] for v in control.values() if v is not None and _is_scalar(v)]
    j.control_value = (_mean_text(c_scalars) if c_scalars and len(c_scalars) == len(control)
                       else f"{c_outcomes.count(PASS)}/{len(c_outcomes)} seeds pass" if c_outcomes else "")
    if not c_outcomes:
        j.control = f"{control_name}: {j.control_value}"
        return j
    try:
        c_verdict, _, _ = _tally(r, c_outcomes)
    except ClaimError:  # a "k of n" control with fewer than k seeds cannot pass by the rule
        c_verdict = INCONCLUSIVE
    c_passes = c_outcomes.count(PASS)
    if r.kind == "rate":
        c_lo, c_hi = stats.clopper_pearson(c_passes, len(c_outcomes))
        below = j.interval is not None and c_hi < j.interval[0]
        j.control_verdict = "passes" if not below else "fails"
        j.control = (f"{control_name}: pass rate {c_passes}/{len(c_outcomes)}, 95% CI [{_fmt(c_lo)}, {_fmt(c_hi)}]"
                     + (" (below the claim's)" if below else " (not below the claim's)"))
        faked = not below
    else:
        j.control_verdict = {REPRODUCED: "passes", NOT_REPRODUCED: "fails"}.get(c_verdict, "undecided")
        j.control = (f"{control_name}: {c_passes}/{len(c_outcomes)} seeds pass (rule {r.text}: "
                     f"{j.control_verdict})")
        faked = c_verdict == REPRODUCED
    if j.verdict == REPRODUCED and not margin and faked:
        j.verdict = INCONCLUSIVE
        j.reason += f", but the control does as well ({j.control})"
        pairs = [(scalar(values[s], "margin"), scalar(control[s], "margin")) for s in values
                 if s in control and values[s] is not None and control[s] is not None
                 and _is_scalar(values[s]) and _is_scalar(control[s])]
        effect = [a - b for a, b in pairs]
        j.decide = ("the effect over the control: declare a margin (the paired effect here is "
                    f"{_interval_side('>= 0', effect).text})" if len(effect) >= 2
                    else "a test the control fails, or a margin over the control")
    return j


def _seed_outcome(test: Any, margin: str, value: Any, control_value: Any, none: str) -> str:
    if value is None:
        return none
    outcome = evaluate_value(test, value) if test not in (None, "") else PASS
    if not margin:
        return outcome
    if control_value is None:
        return _all([outcome, none])
    return _all([outcome, _comparison(margin, [scalar(value, "margin") - scalar(control_value, "margin")])])


def _tally(r: Rule, outcomes: Sequence[str]) -> tuple[str, str, str]:
    """Return (verdict, reason, decide) of per-seed outcomes under a per-seed rule."""
    n = len(outcomes)
    passes, fails = outcomes.count(PASS), outcomes.count(FAIL)
    ties = n - passes - fails
    text = f"{passes}/{n} seeds pass" + (f", {ties} tie{'s' if ties > 1 else ''}" if ties else "")
    if n == 0:
        return INCONCLUSIVE, "no seeds", "seeds"
    if r.kind == "rate":
        lo, hi = stats.clopper_pearson(passes, n)
        ci = f"95% CI of the pass rate [{_fmt(lo)}, {_fmt(hi)}]"
        if lo >= r.p:
            return REPRODUCED, f"{text}, {ci} clears {r.p:g} (rule: {r.text})", ""
        if hi < r.p:
            return NOT_REPRODUCED, f"{text}, {ci} is below {r.p:g} (rule: {r.text})", ""
        need = stats.seeds_to_decide_rate(passes / n, r.p)
        return INCONCLUSIVE, f"{text}, {ci} straddles {r.p:g} (rule: {r.text})", (
            f"the interval would clear {r.p:g} at about {need} seeds at the observed pass rate {passes}/{n}"
            if need else f"the observed pass rate {passes}/{n} sits on {r.p:g}: more seeds would not decide it")
    k = n if r.kind == "all" else r.k
    if k > n:
        raise ClaimError(f"rule {r.text!r} needs at least {k} seeds, got {n}")
    if passes >= k:
        return REPRODUCED, f"{text} (rule: {r.text})", ""
    if fails >= k:
        return NOT_REPRODUCED, f"{fails}/{n} seeds fail (rule: {r.text})", ""
    if ties and passes + ties >= k:
        return (INCONCLUSIVE, f"ties decide it: {text}, {fails} fail (rule: {r.text})",
                f"ties decide it ({ties} of {n} seeds): a trend statistic with a margin would")
    return (INCONCLUSIVE, f"seeds disagree: {text}, {fails} fail (rule: {r.text})",
            f"the seeds disagree ({passes} of {n} pass): a pass-rate rule ('rate >= p') over more seeds would "
            "decide it")


# --- values -------------------------------------------------------------------------------------

def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (Mapping, list, tuple)) and len(flatten(value)) == 1


def scalar(value: Any, what: str) -> float:
    """Return the one number of a per-seed value, or raise ClaimError."""
    flat = flatten(value)
    if len(flat) != 1 or flat[0] is None:
        raise ClaimError(f"{what} needs one number per seed, got {value!r}")
    return flat[0]


def flatten(measured: Any) -> list[float | None]:
    """Return every number in a (nested) value, None kept."""
    if isinstance(measured, Mapping):
        return [v for x in measured.values() for v in flatten(x)]
    if isinstance(measured, (list, tuple)):
        return [v for x in measured for v in flatten(x)]
    if hasattr(measured, "tolist"):
        return flatten(measured.tolist())
    if isinstance(measured, bool):
        return [float(measured)]
    return [float(measured)] if measured is not None else [None]


def _test_text(test: Any) -> str:
    if isinstance(test, Mapping):
        return "; ".join(f"{k}: {t}" for k, t in test.items())
    return str(test)


def _mean_text(x: Sequence[float]) -> str:
    return "no values" if not len(x) else _fmt(float(x[0])) if len(x) == 1 else f"mean {_fmt(float(np.mean(x)))}"


def _fmt(x: float) -> str:
    """Return a number in 3 significant digits, without an exponent between 0.001 and 100,000 (never "nan")."""
    if x is None or not math.isfinite(x):
        return "undefined"
    if x == 0:
        return "0"
    if 1000 <= abs(x) < 1e5:
        return f"{x:.0f}"
    if 1e-3 <= abs(x) < 1000:
        return f"{x:.3g}"
    return f"{x:.2e}"
