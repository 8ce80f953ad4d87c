"""Shared fixtures: a copy of the book sources in a temporary folder, executed once at `smoke`, and its site."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
