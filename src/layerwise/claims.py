"""A chapter's ledger: sanity entries apart from claims, claims with controls, seeds, a rule and a provenance.

    ledger = Ledger(cfg)
    ledger.sanity("fle-identity", measured=err, test="<= 1e-12",
                  statement="the chain-rule identity holds in float64")        # a bug if it fails
    with ledger.section("3. The rate", source="Wang et al. 2023, Fig. 4"):
        ledger.claim("wang23-rate-range", provenance="paper",
                     statement="the compression ratio lies in the paper's band",  # the test is appended
                     test="in [0.25, 0.32]", rule="mean",
                     values={0: 0.28, 1: 0.29, 2: 0.27},                 # one value per seed; None = censored
                     control=Control("untrained net", {0: 0.91, 1: 0.93, 2: 0.90}),
                     trained={0: True, 1: True, 2: True}, headline=True, figure="fig-ch01-rate",
                     explain={"reproduced": "The ratio sits in the band ({value}); the untrained net's "
                                            "is {control_value}."})
    ledger.record("rate", 0.285)      # a headline number, gathered by `layerwise sweep`
    ledger.findings()                 # "What we found": the headline claims' readings and the main caveat
    ledger.closing()                  # the Summary, composed from the run
    ledger.save()                     # claims.json, written atomically; raises SanityError after
                                      # writing when a sanity entry failed

Kinds. A `sanity` entry (an identity, code against a reference, a closed form, a near-identity forced
by the setup) cannot fail unless the code is wrong: it never counts as a reproduction and a failing one
fails the chapter run. A `claim` is a statement about trained networks or data; only claims count.

Provenance: "paper" (stated in the paper), "authors" (the authors' code or stored outputs),
"reconstruction" (our reading of an unstated claim), "book" (this book's own hypothesis). Verdicts:
reproduced / not reproduced for the first three, supported / not supported for "book", inconclusive
for all; every inconclusive claim carries `decide`, what would decide it, computed from the run.

Rules, tests and censoring: see `layerwise.verdicts` ("mean": a Student-t interval of the mean;
"rate >= p": a Clopper-Pearson interval of the pass rate; "all"; "k of n"; the control judged by the
same rule). On top of the rule: fewer than `MIN_SEEDS` seeds, a control with fewer, a failed
precondition (`requires=`), a net that did not reach its training criterion (`trained=`) make a
claim inconclusive; seeds where it cannot be posed (`posed=`) are dropped and said. With `over` the
values are given per analysis choice ({threshold: {seed: value}}) and the claim must hold at every
choice; a verdict that changes with the choice is inconclusive and says where it changes.
"""
from __future__ import annotations

import contextlib
import html
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from .io import atomic_write_json
from .verdicts import (FAIL, INCONCLUSIVE, NOT_REPRODUCED, NOT_SUPPORTED, PASS, REPRODUCED, SUPPORTED, TIE,
                       ClaimError, Judgement, evaluate, evaluate_value, flatten, judge, parse_rule,
                       spearman_with_position)
from .verdicts import _test_text

__all__ = ["Ledger", "Entry", "Control", "ClaimError", "SanityError", "Markdown", "glue", "anchor",
           "evaluate", "evaluate_value", "spearman_with_position", "bootstrap_mean_interval", "format_measured",
           "REPRODUCED", "NOT_REPRODUCED", "SUPPORTED", "NOT_SUPPORTED", "INCONCLUSIVE", "VERDICTS",
           "PASS", "FAIL", "TIE", "PROVENANCES"]

VERDICTS = (REPRODUCED, NOT_REPRODUCED, SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)
MIN_SEEDS = 3
PROVENANCES = ("paper", "authors", "reconstruction", "book")
_PROVENANCE_ALIASES = {"authors' output": "authors", "authors output": "authors", "this book": "book"}
UNSPECIFIED = "unspecified"


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
    provenance: str = ""
    headline: bool = False
    figure: str = ""
    decide: str = ""
    value: str = ""
    seeds: int = 0
    passes: int | None = None
    interval: list[float] | None = None
    censored: int = 0
    dropped: list[str] = field(default_factory=list)
    undertrained: int = 0
    claim: str = ""  # the statement in the author's words, before its test was appended


@dataclass
class Ledger:
    """The sanity entries and claims of one chapter run; `cfg` is the chapter's resolved Config."""

    cfg: Any
    entries: list[Entry] = field(default_factory=list)
    numbers: dict[str, float | None] = field(default_factory=dict)
    min_seeds: int = MIN_SEEDS
    _context: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def claims(self) -> list[Entry]:
        """The claim entries (not the sanity entries), in the order they were declared."""
        return [e for e in self.entries if e.kind == "claim"]

    @property
    def sanity_entries(self) -> list[Entry]:
        """The sanity entries, in the order they were declared."""
        return [e for e in self.entries if e.kind == "sanity"]

    @contextlib.contextmanager
    def section(self, title: str, *, source: str | None = None, provenance: str | None = None) -> Iterator["Ledger"]:
        """Within the block, entries default to this section (and this source and provenance)."""
        saved = dict(self._context)
        self._context.update({"section": title, **({"source": source} if source is not None else {}),
                              **({"provenance": provenance} if provenance is not None else {})})
        try:
            yield self
        finally:
            self._context.clear()
            self._context.update(saved)

    def sanity(self, entry_id: str, *, measured: Any, test: str, statement: str, source: str | None = None,
               section: str | None = None, note: str = "") -> Entry:
        """Record an identity or implementation check; its verdict is "ok" or "FAILED" (a bug)."""
        self._new_id(entry_id)
        outcome = evaluate_value(test, measured)
        entry = Entry(entry_id, "sanity", statement, self._default("source", source), test,
                      "ok" if outcome == PASS else "FAILED",
                      "" if outcome == PASS else f"measured {format_measured(measured)} fails {test!r}",
                      format_measured(measured), _plain(measured), section=self._default("section", section),
                      note=note)
        self.entries.append(entry)
        return entry

    def claim(self, claim_id: str, *, statement: str, test: Any = None, values: Any, control: Control | None,
              source: str | None = None, provenance: str | None = None, rule: str = "all", margin: str = "",
              trained: Any = None, posed: Any = None, censored: str = "", requires: Mapping[str, bool] | None = None,
              over: str = "", headline: bool = False, figure: str = "", section: str | None = None,
              note: str = "", explain: Mapping[str, str] | None = None) -> Entry:
        """Record a claim about trained networks or data and return it with its verdict, reason and decide.

        values: {seed: value} (a list is taken as seeds cfg.seed, cfg.seed + 1, ...), None where the
        event did not happen within the run (censored, described by `censored`); with `over`,
        {choice: {seed: value}}. control: a Control measured the same way, judged by the same rule;
        None or an empty one is refused. margin: a test on the paired per-seed effect value - control.
        trained / posed: {seed: bool}; an untrained net makes the claim inconclusive, an unposed seed is
        dropped. requires: named preconditions; any False makes the claim inconclusive. explain: the
        author's reading per verdict, formatted with {value}, {control_value}, {measured}, {control},
        {seeds}, {tally}, {decide}; used by `findings` and `closing`.
        """
        self._new_id(claim_id)
        if control is None or not isinstance(control, Control):
            raise ClaimError(f"claim {claim_id!r} needs a Control measured in the same run (an untrained "
                             "network, shuffled labels, the raw input, a trivial predictor...)")
        rule_text = parse_rule(rule).text if rule != "mean-ci" else "mean"
        if test in (None, "") and not margin:
            raise ClaimError(f"claim {claim_id!r} needs a test (or a margin over its control)")
        prov = _provenance(claim_id, self._default("provenance", provenance) or None)
        choices = _by_choice(values, over, self._seed_keys)
        control_choices = _by_choice(control.values, over, self._seed_keys, like=choices)
        empty = [c for c, v in control_choices.items() if not v]
        if empty:
            raise ClaimError(f"claim {claim_id!r}: the control {control.name!r} has no values"
                             + (f" at {over} = {empty[0]}" if over else "") + " (measure it on the claim's seeds)")
        posed_map = _per_seed_flags(posed, self._seed_keys)
        dropped = sorted({s for v in choices.values() for s in v if posed_map.get(s) is False}, key=_seed_order)
        choices = {c: {s: x for s, x in v.items() if s not in dropped} for c, v in choices.items()}
        judged = {c: judge(test, rule, margin, choices[c], control_choices[c], control.name, min_seeds=self.min_seeds,
                           censored=censored) for c in choices}
        verdict, reason, decide = _combine(judged, over)
        first_key = next(iter(choices))
        first = judged[first_key]
        notes = list(first.notes)
        if dropped:
            total = len(dropped) + len(choices[first_key])
            notes.append(f"{len(dropped)} of {total} seeds dropped: the claim cannot be posed there "
                         f"(seed{'s' if len(dropped) > 1 else ''} {', '.join(dropped)})")
        trained_map = _per_seed_flags(trained, self._seed_keys)
        untrained = [s for s, ok in trained_map.items() if not ok]
        if untrained:
            verdict, reason = INCONCLUSIVE, (f"undertrained: {len(untrained)} of {len(trained_map)} nets did not "
                                             f"reach the criterion (the values alone: {verdict}, {reason})")
            decide = (f"{len(untrained)} of {len(trained_map)} nets did not reach the training criterion: "
                      "train them to it")
        failed = [name for name, ok in (requires or {}).items() if not ok]
        if failed:
            verdict, reason = INCONCLUSIVE, "precondition not met: " + "; ".join(failed)
            decide = "the precondition: " + "; ".join(failed)
        if notes:
            reason += " (" + "; ".join(notes) + ")"
        entry = Entry(
            claim_id, "claim", _with_test(statement, test, margin, rule_text, control.name),
            self._default("source", source), test, _words(verdict, prov), reason,
            _summary(choices[first_key]) + (f" (at {over} = {first_key})" if over else ""),
            {c: _plain(v) for c, v in choices.items()} if over else _plain(choices[first_key]), rule_text,
            {"name": control.name, "measured": _summary(control_choices[first_key]),
             "values": _plain(control_choices[first_key]), "value": first.control_value,
             "verdict": first.control_verdict, "outcome": first.control},
            margin, over, {c: f"{_words(j.verdict, prov)}: {j.reason}" for c, j in judged.items()} if over else None,
            self._default("section", section), note, "", prov, bool(headline), figure,
            decide if verdict == INCONCLUSIVE else "", first.value, first.seeds, first.passes, first.interval,
            first.censored, dropped, len(untrained))
        entry.claim = " ".join(statement.split())
        if entry.verdict == INCONCLUSIVE and not entry.decide:
            entry.decide = "more seeds"
        entry.explain = _reading(explain, entry)
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
        """Return "N of M claims reproduced, K not reproduced, J inconclusive" (with supported / not
        supported when the chapter has book claims)."""
        return summary_line(self.counts(), len(self.claims))

    def table(self, kind: str = "claim"):
        """Return the claims (or sanity entries) as a pandas DataFrame, one row each."""
        import pandas as pd

        if kind == "sanity":
            rows = [{"check": e.id, "statement": e.statement, "test": _test_text(e.test), "measured": e.measured,
                     "result": e.verdict} for e in self.sanity_entries]
            return pd.DataFrame(rows, columns=["check", "statement", "test", "measured", "result"])
        rows = [{"claim": c.id, "statement": c.statement, "measured": c.value or c.measured,
                 "seeds": _tally(c), "control": c.control["outcome"] if c.control else "",
                 "verdict": c.verdict, "reason": c.reason} for c in self.claims]
        return pd.DataFrame(rows, columns=["claim", "statement", "measured", "seeds", "control", "verdict", "reason"])

    def to_dict(self) -> dict[str, Any]:
        """Return the ledger as plain data: the run's parameters, every entry, the numbers and the findings."""
        cfg = self.cfg
        return {"chapter": cfg.chapter, "preset": cfg.preset, "seed": cfg.seed, "params": cfg.as_dict(),
                "summary": self.summary(), "counts": self.counts(), "findings": self.findings().text,
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

    def findings(self) -> "Markdown":
        """Return "What we found": 3-5 sentences from the headline claims' readings (or a plain sentence
        each) and the main caveat (an inconclusive headline claim and what would decide it)."""
        heads = [c for c in self.claims if c.headline] or self.claims[:3]
        if not heads:
            return Markdown("This run recorded no claims.")
        sentences = [_sentence(c, short=True) for c in heads[:3]]
        caveat = next((c for c in heads if c.verdict == INCONCLUSIVE), None)
        if caveat is not None:
            sentences.append(f"The main caveat: the claim that {_lower_first(_strip_stop(caveat.claim or caveat.statement))}"
                             f" is inconclusive; what would decide it: {_strip_stop(caveat.decide)}.")
        return Markdown(" ".join(sentences))

    def closing(self) -> "Markdown":
        """Return the Summary, composed from the run: the tally in a sentence, then one paragraph per
        verdict with each claim's reading, linked to its section and figure (what would decide the
        inconclusive ones), then the sanity checks in one line. Displays as Markdown."""
        claims = self.claims
        if not claims:
            return Markdown(f"This run recorded no claims (sanity checks: {self._sanity_line()}).")
        n = self.counts()
        parts = [f"{n[v]} {v}" for v in VERDICTS if n[v]]
        tally = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        lines = [f"This chapter tested {len(claims)} claim{'s' if len(claims) != 1 else ''} on its own runs: "
                 f"{tally}.", ""]
        for verdict in VERDICTS:
            group = [c for c in claims if c.verdict == verdict]
            if not group:
                continue
            body = []
            for c in group:
                text = _sentence(c)
                links = _links(c)
                if links:
                    text = text[:-1] + f" ({links})." if text.endswith(".") else text + f" ({links})"
                if verdict == INCONCLUSIVE and c.decide:
                    text += f" What would decide it: {_strip_stop(c.decide)}."
                body.append(text)
            lines += [f"**{verdict.capitalize()}.** " + " ".join(body), ""]
        lines.append(f"Sanity checks (identities and code against references): {self._sanity_line()}.")
        return Markdown("\n".join(lines))

    def _sanity_line(self) -> str:
        entries = self.sanity_entries
        bad = sum(e.verdict != "ok" for e in entries)
        return f"{len(entries) - bad} of {len(entries)} pass" if entries else "none"

    def _default(self, key: str, given: str | None) -> str:
        return given if given is not None else self._context.get(key, "")

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


def figure_anchor(label: str) -> str:
    """Return the HTML id of a figure with MyST `:name: label` ("fig-ch01-rate" stays "fig-ch01-rate")."""
    return re.sub(r"^-+|-+$", "", re.sub(r"[^a-z0-9]+", "-", label.lower()))


def summary_line(counts: Mapping[str, int], total: int) -> str:
    """Return "N of M claims reproduced, K not reproduced[, S supported, T not supported], J inconclusive"."""
    book = [f"{counts.get(v, 0)} {v}" for v in (SUPPORTED, NOT_SUPPORTED)] if (
        counts.get(SUPPORTED) or counts.get(NOT_SUPPORTED)) else []
    return ", ".join([f"{counts.get(REPRODUCED, 0)} of {total} claims reproduced",
                      f"{counts.get(NOT_REPRODUCED, 0)} not reproduced", *book,
                      f"{counts.get(INCONCLUSIVE, 0)} inconclusive"])


def glue(name: str, value: Any, fmt: str | None = None) -> Any:
    """Glue `value` under `name` for the prose (myst-nb's `{glue:text}` role) and return it.

    With `fmt` (e.g. ".3f") the value is glued as formatted text, so the page shows exactly that.
    """
    from myst_nb import glue as nb_glue

    nb_glue(name, format(value, fmt) if fmt else value, display=False)
    return value


def bootstrap_mean_interval(values, *, level: float = 0.95, n_boot: int = 4000, seed: int = 0) -> tuple[float, float]:
    """Return the percentile bootstrap interval of the mean of `values` (deterministic given `seed`).

    Kept for figures; the ledger's "mean" rule decides on the Student-t interval (`stats.t_interval`)."""
    import numpy as np

    x = np.asarray(values, dtype=float)
    if x.size < 2:
        raise ClaimError(f"a bootstrap interval needs >= 2 values, got {x.size}")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


# --- composing the prose ------------------------------------------------------------------------

def _words(verdict: str, provenance: str) -> str:
    """Return the verdict in the words of the provenance (supported / not supported for a book claim)."""
    if provenance == "book":
        return {REPRODUCED: SUPPORTED, NOT_REPRODUCED: NOT_SUPPORTED}.get(verdict, verdict)
    return verdict


def _provenance(claim_id: str, provenance: str | None) -> str:
    if provenance is None:
        return UNSPECIFIED
    key = _PROVENANCE_ALIASES.get(str(provenance).strip().lower(), str(provenance).strip().lower())
    if key not in PROVENANCES:
        raise ClaimError(f"claim {claim_id!r}: provenance must be one of {', '.join(PROVENANCES)}, got {provenance!r}")
    return key


def _with_test(statement: str, test: Any, margin: str, rule: str, control: str) -> str:
    """Return the statement with its test (and margin, and pass rate) appended where it lacks them."""
    extra = []
    if test not in (None, "") and not _mentions(statement, _test_text(test)):
        extra.append(_test_text(test))
    if margin and not _mentions(statement, margin):
        extra.append(f"effect over the {control} {margin}")
    m = re.fullmatch(r"rate >= (.+)", rule)
    if m and not _mentions(statement, m.group(1)):
        extra.append(f"on >= {float(m.group(1)):.0%} of seeds")
    if not extra:
        return statement
    body = statement.rstrip()
    stop = "." if body.endswith(".") else ""
    return f"{body[:-1] if stop else body} ({'; '.join(extra)}){stop}"


def _mentions(statement: str, test: str) -> bool:
    text = " ".join(statement.split())
    if " ".join(test.split()) in text:
        return True
    numbers = re.findall(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", test)
    return bool(numbers) and all(re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", text) for n in numbers)


class _Fields(dict):
    def __missing__(self, key):
        raise ClaimError(f"explain names {{{key}}}; use {', '.join('{' + k + '}' for k in self)}")


def _reading(explain: Mapping[str, str] | None, entry: Entry) -> str:
    """Return the author's reading for the entry's verdict, formatted with the run's numbers."""
    if not explain:
        return ""
    aliases = {SUPPORTED: (SUPPORTED, REPRODUCED), NOT_SUPPORTED: (NOT_SUPPORTED, NOT_REPRODUCED)}
    text = next((explain[k] for k in aliases.get(entry.verdict, (entry.verdict,)) if k in explain), None)
    fields = _Fields(measured=entry.measured, control=entry.control["measured"], value=entry.value or entry.measured,
                     control_value=entry.control.get("value") or entry.control["measured"], seeds=entry.seeds,
                     tally=_tally(entry), decide=entry.decide, verdict=entry.verdict)
    for other in explain.values():  # a wrong field name fails at declaration, whatever the verdict
        other.format_map(fields)
    return text.format_map(fields) if text else ""


def _tally(c: Entry) -> str:
    """Return "7/8 seeds pass" (per-seed rules) or "8 seeds" ("mean"), with the censored seeds."""
    text = f"{c.passes}/{c.seeds} seeds pass" if c.passes is not None else f"{c.seeds} seeds"
    return text + (f", {c.censored} censored" if c.censored else "")


def _sentence(c: Entry, short: bool = False) -> str:
    """Return the claim's reading (the author's, else a plain sentence from the run) ending in a stop;
    `short`: the plain sentence states the claim without its appended test and the value without its tally."""
    if c.explain:
        text = c.explain.strip()
        return text if text.endswith((".", "!", "?")) else text + "."
    control = c.control or {}
    measured = c.value if c.value.startswith("pass rate") or short else ", ".join(
        x for x in (c.value, _tally(c)) if x)
    numbers = f"{measured}; {control.get('name', 'control')} {control.get('value') or control.get('measured', '')}"
    statement = (c.claim or c.statement) if short else c.statement
    return f"{_upper_first(_strip_stop(statement))}: {c.verdict} ({numbers.strip()})."


def _links(c: Entry) -> str:
    links = []
    if c.section:
        links.append(f'<a href="#{anchor(c.section)}">&sect;&nbsp;{html.escape(c.section)}</a>')
    if c.figure:
        links.append(f'<a href="#{figure_anchor(c.figure)}">figure</a>')
    return ", ".join(links)


def _strip_stop(text: str) -> str:
    text = " ".join(str(text).split())
    return text[:-1] if text.endswith(".") else text


def _upper_first(text: str) -> str:
    """Capitalise a leading plain word ("hybrid: ..." -> "Hybrid: ..."), never a symbol ("l* ...", "c_l ...")."""
    return text[:1].upper() + text[1:] if re.match(r"(?:a|[a-z]{2,})(?![\w^*'$])", text) else text


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


# --- seeds and choices --------------------------------------------------------------------------

def _combine(judged: dict[str, Judgement], over: str) -> tuple[str, str, str]:
    if not over:
        j = next(iter(judged.values()))
        return j.verdict, j.reason, j.decide
    verdicts = {j.verdict for j in judged.values()}
    first = next(iter(judged.values()))
    if len(verdicts) == 1:
        return first.verdict, f"at every {over} in {', '.join(judged)}: {first.reason}", first.decide
    where = "; ".join(f"{j.verdict} at {over} = {c}" for c, j in judged.items())
    return INCONCLUSIVE, f"depends on the {over}: {where}", (
        f"the {over}: the verdict changes with it, so the analysis choice decides it")


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
        nested = isinstance(values, Mapping) and bool(values) and {str(c) for c in values} == set(like) and all(
            isinstance(v, (Mapping, list, tuple)) for v in values.values())
        return {str(c): per_seed(v) for c, v in values.items()} if nested else {c: per_seed(values) for c in like}
    if not over:
        flat = per_seed(values)
        if not flat:
            raise ClaimError("a claim needs at least one seed's value")
        return {"": flat}
    if not isinstance(values, Mapping) or not values:
        raise ClaimError(f"with over={over!r}, values must be {{choice: {{seed: value}}}}")
    return {str(c): per_seed(v) for c, v in values.items()}


def _per_seed_flags(flags: Any, seed_keys) -> dict[str, bool]:
    if flags is None:
        return {}
    if isinstance(flags, Mapping):
        return {str(s): bool(v) for s, v in flags.items()}
    if isinstance(flags, (list, tuple)):
        return dict(zip(seed_keys(len(flags)), map(bool, flags)))
    raise ClaimError(f"trained= and posed= take {{seed: bool}} or a list of bools, got {flags!r}")


def _seed_order(seed: str):
    return (0, int(seed)) if seed.lstrip("-").isdigit() else (1, seed)


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
    if all(v is None or (len(flatten(v)) == 1 and not isinstance(v, (Mapping, list, tuple)))
           for v in per_seed.values()):
        shown = ("censored" if v is None else format_measured(v) for v in per_seed.values())
        return " / ".join(shown) + f" (seeds {seeds})"
    return "; ".join(f"seed {s}: {'censored' if v is None else format_measured(v)}" for s, v in per_seed.items())


def format_measured(value: Any) -> str:
    """Return a short human-readable form of a measured value (4 significant digits; None, NaN and
    infinities are "undefined")."""
    if value is None:
        return "undefined"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {format_measured(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_measured(v) for v in value) + "]"
    if hasattr(value, "tolist"):
        return format_measured(value.tolist())
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:.4g}" if math.isfinite(value) else "undefined"
    return str(value)
