"""Shared fixtures: a copy of the book sources in a temporary folder, executed once at `smoke`, and its site.

Tiers: a test that executes chapter kernels (it uses `smoke_book` or `site`, or calls run_chapter, run_book,
run_sweep or `layerwise run`) is marked `slow` here, automatically; `make test PYTEST_ARGS="-m 'not slow'"`
is the fast tier (the package), `make test` runs everything (CI). Every chapter kernel of the session
shares one network store (LAYERWISE_STORE, a session folder), so a net a chapter trains behind
`store.cached` is trained once per session however many tests execute that chapter.
"""
from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SLOW_FIXTURES = {"smoke_book", "site"}
KERNEL_CALLS = ("run_chapter(", "run_book(", "run_sweep(", "run_tiny(", "execute_notebook(", '"run", "0',
                '"book", "--preset"')


def runs_kernels(item) -> bool:
    """Whether a collected test executes chapter kernels (by its fixtures, or the calls in its source)."""
    if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    try:
        source = inspect.getsource(item.function)
    except (AttributeError, OSError, TypeError):
        return False
    body = source[source.find("def "):]  # the body, not the decorators (their parameters fail fast)
    return any(call in body for call in KERNEL_CALLS)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if runs_kernels(item):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def session_store(tmp_path_factory):
    """One network store for every kernel of the session (they inherit the environment)."""
    if os.environ.get("LAYERWISE_STORE"):
        yield os.environ["LAYERWISE_STORE"]  # the caller chose one (or `off`)
        return
    folder = tmp_path_factory.mktemp("store")
    os.environ["LAYERWISE_STORE"] = str(folder)
    try:
        yield str(folder)
    finally:
        os.environ.pop("LAYERWISE_STORE", None)


def copy_book(target: Path) -> Path:
    """Copy the book sources (not _build) to `target` and return it."""
    from layerwise.book import copy_sources

    return copy_sources(ROOT, target)


@pytest.fixture(scope="session")
def book_copy(tmp_path_factory) -> Path:
    """A fresh copy of the book sources, so tests never touch the repository's own _build."""
    return copy_book(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="session")
def smoke_book(book_copy):
    """Every chapter executed once at preset smoke in the book copy: {number: RunResult}."""
    from layerwise import book

    results = book.run_book(preset="smoke", root=book_copy, device="cpu", progress=False, log=lambda *_: None)
    return {r.chapter: r for r in results}


@pytest.fixture(scope="session")
def site(smoke_book, book_copy) -> Path:
    """The static site built once from the smoke chapters: the path of its index.html."""
    from layerwise.site import build_site

    return build_site(root=book_copy, log=lambda *_: None)
