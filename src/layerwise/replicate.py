"""Replication: rerun a chapter on a seed set disjoint from the book's and list the verdicts that changed.

    layerwise replicate 01                  # seed = the book run's seed + 1000, the book run's preset
    layerwise replicate 01 --seed 2000 --preset smoke
    layerwise book --replicate              # every chapter, after the book; the scoreboard then shows
                                            # a "replicated" column

Every seed of a chapter is `cfg.seed + i`, so a base seed 1000 away from the book's gives a new seed
set (for chapters with fewer than 1000 seeds). The replication is written atomically into
`_build/replicate/NN/` (like `layerwise run`), then `replicated.json` there records the seed, the book
run it was compared with (its hash: a later book run makes the replication stale) and the verdicts that
changed (`scoreboard.compare`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import config, scoreboard
from .io import atomic_write_json, read_json

SEED_OFFSET = 1000


@dataclass
class Replication:
    """One chapter's replication: where it went, whether it ran, and the verdicts that changed."""

    chapter: str
    output: Path
    seed: int
    preset: str
    ok: bool
    error: str = ""
    total: int = 0
    changed: list[tuple[str, str, str, str]] = field(default_factory=list)
    book_summary: str = ""
    summary: str = ""
    skipped: bool = False

    def report(self) -> str:
        """Return the lines `layerwise replicate` prints: both tallies, the changed verdicts, "k of n"."""
        if not self.ok:
            return (f"chapter {self.chapter} failed at seed {self.seed}: {self.error}\n"
                    f"(executed notebook: {self.output})")
        lines = [f"chapter {self.chapter} at seed {self.seed} (preset {self.preset}) -> {self.output}"
                 + (" (up to date, not rerun)" if self.skipped else ""),
                 f"  book:        {self.book_summary}", f"  replication: {self.summary}"]
        if self.changed:
            table = [("claim", "book", "replication")] + [(k, a, b) for _, k, a, b in self.changed]
            widths = [max(len(row[i]) for row in table) for i in range(3)]
            lines += [""] + ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
        lines.append(f"{len(self.changed)} of {self.total} verdicts changed")
        return "\n".join(lines)


def replicate_dir(root: Path) -> Path:
    """Return `_build/replicate` of the book at `root`."""
    return Path(root) / "_build" / "replicate"


def book_run(number: str, root: Path) -> dict:
    """Return the book run's run.json of chapter `number`, or raise ConfigError saying how to make it."""
    from .book import chapters_dir

    folder = chapters_dir(root) / config.CHAPTERS[number].slug
    try:
        status = read_json(folder / "run.json")
    except (OSError, ValueError):
        status = {}
    if status.get("status") != "ok" or not (folder / "claims.json").is_file():
        raise config.ConfigError(f"chapter {number} has no book run to compare with ({folder / 'claims.json'} is "
                                 f"missing): run `layerwise book --only {number}` first")
    return status


def replicate_chapter(chapter: str | int, *, seed: int | None = None, preset: str | None = None,
                      root: str | Path | None = None, device: str = "auto", progress: bool = True,
                      force: bool = True, runner=None) -> Replication:
    """Rerun chapter `chapter` at base seed `seed` (default: the book run's + 1000) and preset `preset`
    (default: the book run's) into `_build/replicate/NN/`; compare its verdicts with the book run's."""
    from . import book

    root = book.book_root(root)
    number = config.chapter_number(chapter)
    status = book_run(number, root)
    book_seed = int(status.get("seed", 0) or 0)
    seed = book_seed + SEED_OFFSET if seed is None else int(seed)
    if seed == book_seed:
        raise config.ConfigError(f"--seed {seed} is the book run's seed: a replication needs a disjoint seed set")
    preset = preset or str(status.get("preset") or "book")
    if preset not in config.PRESET_NAMES:
        raise config.ConfigError(f"preset must be one of {', '.join(config.PRESET_NAMES)}, got {preset!r}")
    output = replicate_dir(root) / number
    run = runner or book.run_chapter
    result = run(number, preset=preset, params=dict(status.get("params") or {}), output=output, device=device,
                 seed=seed, root=root, progress=progress, force=force)
    rep = Replication(number, output, seed, preset, result.ok, result.error, skipped=bool(result.skipped))
    if not result.ok:
        return rep
    before = scoreboard.read_chapter(number, book.chapters_dir(root) / config.CHAPTERS[number].slug)
    after = scoreboard.read_chapter(number, output)
    rep.changed = scoreboard.compare(before, after)
    rep.total = len({r.claim for r in before + after if r.claim}) or 1
    rep.book_summary, rep.summary = scoreboard.summary(before), scoreboard.summary(after)
    atomic_write_json(output / scoreboard.REPLICATED_FILE, {
        "chapter": number, "seed": seed, "preset": preset, "book_seed": book_seed, "book_hash": status.get("hash"),
        "total": rep.total, "changed": [list(c) for c in rep.changed]})
    return rep


def replicate_book(numbers: list[str], *, root: str | Path | None = None, device: str = "auto", jobs: int = 1,
                   force: bool = False, log=print) -> list[Replication]:
    """Replicate every chapter in `numbers` that has a book run (`jobs` at once); return them in order.

    Up-to-date replications (same source, package, parameters and seed) are skipped unless `force`."""
    from . import book

    root = book.book_root(root)
    run = getattr(book, "_run_chapter", None)  # the pool must not reset the stop flag between chapters
    runner = None if run is None else (lambda *a, **kw: run(*a, **kw))

    def one(number: str) -> Replication:
        try:
            book_run(number, root)
        except config.ConfigError as err:
            log(f"[{number}] not replicated: {err}")
            return Replication(number, replicate_dir(root) / number, 0, "", False, str(err))
        log(f"[{number}] replicating on a disjoint seed set ...")
        rep = replicate_chapter(number, root=root, device=device, progress=False, force=force, runner=runner)
        log(f"[{number}] " + (f"{len(rep.changed)} of {rep.total} verdicts changed" if rep.ok
                              else f"FAILED: {rep.error}"))
        return rep

    if jobs <= 1 or len(numbers) <= 1:
        return [one(n) for n in numbers]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(jobs, len(numbers)), thread_name_prefix="replicate") as pool:
        return list(pool.map(one, numbers))
