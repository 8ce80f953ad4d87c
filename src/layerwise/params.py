"""Chapter parameters declared once, with their rules (chapter-blind: this module knows no chapter).

A chapter declares each parameter beside its default and the rule its values must follow, like
scikit-learn's `_parameter_constraints`:

    PARAMS = dict(
        depth=Param(6, "weight matrices L of the theory nets", rule=Int(min=2), smoke=4),
        lr=Param(0.1, "learning rate", rule=Float(min=0, closed="right")),          # lr > 0
        momentum=Param(0.9, "SGD momentum", rule=Float(min=0, max=1, closed="left")),  # [0, 1)
        dataset=Param("mnist1d", "data set", rule=Choice(*DATASETS)),
        sweep_depths=Param([4, 6], "depths of the sweep", rule=ListOf(Int(min=2), min_len=2)),
    )

`rule.check(name, value)` returns the value (an integral float becomes an int, an int a float where a
number is asked for, a tuple a list) or raises `ConfigError` with one sentence naming the parameter,
what it accepts, what it got and where to set it:

    depth must be an integer >= 2, got 0 (set it in the parameters cell or with -p depth N)

`rule.parse(text, name)` converts a command-line string (`-p depth 8`, lists comma-separated) and
checks it. Rules that involve two parameters stay in the chapter's `check(values)`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ConfigError", "UNSET", "Param", "Rule", "Int", "Float", "Choice", "Bool", "Str", "Path", "ListOf",
    "Optional", "hint", "DATASETS", "ACTIVATIONS", "OPTIMIZERS", "LOSSES", "CHOICES",
]


class ConfigError(ValueError):
    """A parameter has a value the chapter cannot use; the message says what it accepts."""


UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET", "__bool__": lambda self: False})()

# Names every chapter can offer for the same choice.
ACTIVATIONS = ("relu", "tanh", "gelu", "linear")
DATASETS = ("digits", "mnist1d", "mnist", "fashionmnist", "cifar10", "fake")
OPTIMIZERS = ("sgd", "adam", "adamw")
LOSSES = ("mse", "ce")
CHOICES: dict[str, tuple[str, ...]] = {"activation": ACTIVATIONS, "dataset": DATASETS, "optimizer": OPTIMIZERS,
                                       "loss": LOSSES}


def hint(name: str, example: str = "VALUE") -> str:
    """Return "(set it in the parameters cell or with -p NAME EXAMPLE)", the tail of every message."""
    return f"(set it in the parameters cell or with -p {name} {example})"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


class Rule:
    """What values one parameter accepts. Subclasses define `describe`, `_check` and `_parse`."""

    example = "VALUE"  # what the hint writes after -p NAME

    def describe(self, plural: bool = False) -> str:
        """Return what the rule accepts, e.g. "an integer >= 1" (plural: "integers >= 1")."""
        raise NotImplementedError

    def _check(self, value: Any) -> Any:
        """Return the normalised value, or raise ValueError (any message: `check` writes the sentence)."""
        raise NotImplementedError

    def _parse(self, text: str) -> Any:
        return text

    def fail(self, name: str, value: Any, why: str = "") -> ConfigError:
        extra = f" ({why})" if why else ""
        return ConfigError(f"{name} must be {self.describe()}, got {value!r}{extra} {hint(name, self.example)}")

    def check(self, name: str, value: Any) -> Any:
        """Return `value` normalised, or raise ConfigError naming `name`, the rule and the value."""
        try:
            return self._check(value)
        except _Why as err:
            raise self.fail(name, value, str(err)) from None
        except (ValueError, TypeError):
            raise self.fail(name, value) from None

    def parse(self, text: str, name: str = "value") -> Any:
        """Return the command-line string `text` converted and checked."""
        try:
            value = self._parse(str(text).strip())
        except (ValueError, TypeError):
            raise self.fail(name, text) from None
        return self.check(name, value)

    def invalid(self) -> list[Any]:
        """Return values this rule refuses (one ill-typed, and out-of-range ones where there is a range)."""
        return [object()]

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.describe()}>"


class _Why(ValueError):
    """A refusal with a reason worth appending to the message."""


def _bounds(min: float | None, max: float | None, closed: str, fmt=_fmt) -> str:
    lo_in = closed in ("both", "left")
    hi_in = closed in ("both", "right")
    if min is not None and max is not None:
        return f"in {'[' if lo_in else '('}{fmt(min)}, {fmt(max)}{']' if hi_in else ')'}"
    if min is not None:
        return f"{'>=' if lo_in else '>'} {fmt(min)}"
    if max is not None:
        return f"{'<=' if hi_in else '<'} {fmt(max)}"
    return ""


def _inside(x: float, min: float | None, max: float | None, closed: str) -> bool:
    lo_in = closed in ("both", "left")
    hi_in = closed in ("both", "right")
    if min is not None and (x < min or (x == min and not lo_in)):
        return False
    if max is not None and (x > max or (x == max and not hi_in)):
        return False
    return True


_CLOSED = ("both", "left", "right", "neither")


def _why(text: str) -> str:
    return f" {text}" if text else ""


@dataclass(frozen=True, repr=False)
class Int(Rule):
    """An integer in [min, max] (either end may be None). An integral float (4.0) is accepted as 4.
    `width=True` marks a layer width: `config.check_memory` refuses one whose weight matrix alone would
    not fit in the machine's memory."""

    min: int | None = None
    max: int | None = None
    width: bool = False
    why: str = ""  # appended to what the rule accepts: Int(min=3, why="(two hidden layers at least)")
    example = "N"

    def describe(self, plural: bool = False) -> str:
        bounds = _bounds(self.min, self.max, "both")
        return ("integers" if plural else "an integer") + (f" {bounds}" if bounds else "") + _why(self.why)

    def _check(self, value: Any) -> int:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise TypeError
        if not _inside(value, self.min, self.max, "both"):
            raise ValueError
        return value

    def _parse(self, text: str) -> int:
        return int(text)

    def invalid(self) -> list[Any]:
        out: list[Any] = ["six", 2.5]
        if self.min is not None:
            out.append(self.min - 1)
        if self.max is not None:
            out.append(self.max + 1)
        return out


@dataclass(frozen=True, repr=False)
class Float(Rule):
    """A finite number between `min` and `max` (either may be None); `closed` says which ends belong:
    "both" (default), "left" ([min, max)), "right" ((min, max]) or "neither". `Float(min=0, closed="right")`
    is a number > 0. Integers are accepted and returned as floats."""

    min: float | None = None
    max: float | None = None
    closed: str = "both"
    why: str = ""
    example = "X"

    def __post_init__(self):
        if self.closed not in _CLOSED:
            raise ValueError(f"closed must be one of {', '.join(_CLOSED)}, got {self.closed!r}")

    def describe(self, plural: bool = False) -> str:
        bounds = _bounds(self.min, self.max, self.closed)
        if not bounds:
            return ("finite numbers" if plural else "a finite number") + _why(self.why)
        return ("numbers" if plural else "a number") + f" {bounds}" + _why(self.why)

    def _check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError
        value = float(value)
        if not math.isfinite(value):
            raise _Why("it must be finite")
        if not _inside(value, self.min, self.max, self.closed):
            raise ValueError
        return value

    def _parse(self, text: str) -> float:
        return float(text)

    def invalid(self) -> list[Any]:
        out: list[Any] = ["fast", float("nan")]
        if self.min is not None:
            out.append(self.min - 1.0 if self.closed in ("both", "left") else float(self.min))
        if self.max is not None:
            out.append(self.max + 1.0 if self.closed in ("both", "right") else float(self.max))
        return out


@dataclass(frozen=True, init=False, repr=False)
class Choice(Rule):
    """One of the listed values (strings, or numbers)."""

    options: tuple

    def __init__(self, *options: Any):
        if len(options) == 1 and isinstance(options[0], (list, tuple)):
            options = tuple(options[0])
        if not options:
            raise ValueError("Choice needs at least one option")
        object.__setattr__(self, "options", tuple(options))

    @property
    def example(self) -> str:  # type: ignore[override]
        return str(self.options[0])

    def describe(self, plural: bool = False) -> str:
        listed = ", ".join(str(o) for o in self.options)
        return f"values among {listed}" if plural else f"one of {listed}"

    def _check(self, value: Any) -> Any:
        if isinstance(value, bool) or value not in self.options:
            raise ValueError
        return value

    def _parse(self, text: str) -> Any:
        for option in self.options:
            if str(option) == text:
                return option
        return text

    def invalid(self) -> list[Any]:
        return ["no-such-choice", 3.5]


@dataclass(frozen=True, repr=False)
class Bool(Rule):
    """True or False (the command line also takes yes/no/1/0)."""

    example = "true"

    def describe(self, plural: bool = False) -> str:
        return "booleans (true or false)" if plural else "true or false"

    def _check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise TypeError
        return value

    def _parse(self, text: str) -> Any:
        lowered = text.lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
        raise ValueError(text)

    def invalid(self) -> list[Any]:
        return ["maybe", 2]


@dataclass(frozen=True, repr=False)
class Str(Rule):
    """A string; `nonempty=True` refuses ''."""

    nonempty: bool = False
    example = "TEXT"

    def describe(self, plural: bool = False) -> str:
        kind = "non-empty string" if self.nonempty else "string"
        return f"{kind}s" if plural else f"a {kind}"

    def _check(self, value: Any) -> str:
        if not isinstance(value, str) or (self.nonempty and not value):
            raise TypeError
        return value

    def invalid(self) -> list[Any]:
        return [3] + ([""] if self.nonempty else [])


@dataclass(frozen=True, repr=False)
class Path(Rule):
    """A file or folder path, as a string ('' = none given). Existence is checked where it is used
    (data files by `config.check_data`), not here."""

    example = "DIR"

    def describe(self, plural: bool = False) -> str:
        return "paths (strings)" if plural else "a path (a string; '' for none)"

    def _check(self, value: Any) -> str:
        import os

        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str):
            raise TypeError
        return value

    def invalid(self) -> list[Any]:
        return [3]


@dataclass(frozen=True, repr=False)
class ListOf(Rule):
    """A list of at least `min_len` values, each following `rule` (a tuple is accepted as a list). On the
    command line: comma-separated, `-p sweep_depths 4,6,8`."""

    rule: Rule
    min_len: int = 1
    distinct: bool = False  # entries must differ from one another

    example = "A,B"

    def describe(self, plural: bool = False) -> str:
        what = self.rule.describe(plural=True)
        if self.min_len <= 0:
            head = "a list of"
        elif self.min_len == 1:
            head = "a non-empty list of"
        else:
            head = f"a list of at least {self.min_len}"
        tail = ", all different" if self.distinct else ""
        return f"{head} {what}{tail}"

    def _check(self, value: Any) -> list:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise TypeError
        if len(value) < self.min_len:
            raise _Why(f"it has {len(value)} entr{'y' if len(value) == 1 else 'ies'}")
        out = []
        for i, v in enumerate(value):
            try:
                out.append(self.rule._check(v))
            except (ValueError, TypeError):
                raise _Why(f"entry {i + 1} is {v!r}") from None
        if self.distinct and len(set(map(repr, out))) < len(out):
            raise _Why("some entries repeat")
        return out

    def _parse(self, text: str) -> list:
        text = text.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        return [self.rule._parse(part.strip()) for part in text.split(",") if part.strip()]

    def invalid(self) -> list[Any]:
        out: list[Any] = ["not-a-list" if not isinstance(self.rule, (Str, Path, Choice)) else 5]
        if self.min_len >= 1:
            out.append([])
        out.append([self.rule.invalid()[0]] * max(self.min_len, 1))
        return out


@dataclass(frozen=True, repr=False)
class Optional(Rule):
    """None, or a value following `rule` ("none" on the command line)."""

    rule: Rule

    @property
    def example(self) -> str:  # type: ignore[override]
        return self.rule.example

    def describe(self, plural: bool = False) -> str:
        return f"{self.rule.describe(plural)} or None"

    def _check(self, value: Any) -> Any:
        return None if value is None else self.rule._check(value)

    def _parse(self, text: str) -> Any:
        return None if text.lower() in ("none", "null", "") else self.rule._parse(text)

    def invalid(self) -> list[Any]:
        return self.rule.invalid()


@dataclass(frozen=True)
class Param:
    """One chapter parameter: its `book` value, one line of help, the `rule` its values follow, and the
    `smoke` (seconds, tests) and `paper` (the source paper's scale, a GPU) values where they differ from
    `book`."""

    book: Any
    help: str
    rule: Rule | None = None
    smoke: Any = UNSET
    paper: Any = UNSET

    def at(self, preset: str) -> Any:
        """Return the value at `preset` ("smoke", "book" or "paper")."""
        value = getattr(self, preset) if preset != "book" else self.book
        return self.book if value is UNSET else value

    def check(self, name: str, value: Any) -> Any:
        """Return `value` checked against the rule (or, without one, against the book value's type)."""
        return (self.rule or _rule_of(self.book)).check(name, value)

    def parse(self, name: str, text: str) -> Any:
        """Return the command-line string `text` converted and checked."""
        return (self.rule or _rule_of(self.book)).parse(text, name)


def _rule_of(book: Any) -> Rule:
    """The loosest rule for a value of `book`'s type (used only for a Param declared without a rule)."""
    if isinstance(book, bool):
        return Bool()
    if isinstance(book, int):
        return Int()
    if isinstance(book, float):
        return Float()
    if isinstance(book, (list, tuple)):
        return ListOf(_rule_of(book[0]) if book else Float(), min_len=0)
    return Str()


def check_all(params: dict[str, Param], values: dict[str, Any]) -> dict[str, Any]:
    """Return `values` with every entry checked against its Param's rule (the first failure raises)."""
    return {name: params[name].check(name, value) for name, value in values.items()}
