"""Incremental builds: `run_book` re-executes a chapter only when its source, the package or its
parameters changed, or when its last run failed."""
import json
import shutil

from layerwise import book

from conftest import copy_book

# a stand-in chapter that executes in seconds: the same parameters cell, no work
TINY_CHAPTER = """# %% tags=["parameters"]
preset = "book"
device = "auto"
seed = 0
results_dir = None

# %%
print("edited")
"""


def run_book(root):
    return {r.chapter: r for r in book.run_book(preset="smoke", root=root, device="cpu", progress=False,
                                                log=lambda *_: None)}


def test_unchanged_chapters_are_skipped_and_edited_or_failed_ones_run_again(smoke_book, book_copy, tmp_path):
    root = copy_book(tmp_path)
    shutil.copytree(book.chapters_dir(book_copy), book.chapters_dir(root))
    again = run_book(root)
    assert again.keys() == smoke_book.keys() and all(r.skipped and r.ok for r in again.values())

    (root / "notebooks" / "01_deep_linear_compression.py").write_text(TINY_CHAPTER)
    edited = run_book(root)
    assert edited["01"].ok and not edited["01"].skipped
    assert all(r.skipped for n, r in edited.items() if n != "01")

    run_json = book.chapters_dir(root) / "01_deep_linear_compression" / "run.json"
    run_json.write_text(json.dumps({**json.loads(run_json.read_text()), "status": "failed"}))
    assert not run_book(root)["01"].skipped


def test_the_hash_changes_with_the_preset_and_the_parameters(book_copy):
    base = book.run_hash("01", "smoke", {"seed": 0}, book_copy)
    assert base == book.run_hash("01", "smoke", {"seed": 0}, book_copy)
    assert base != book.run_hash("01", "book", {"seed": 0}, book_copy)
    assert base != book.run_hash("01", "smoke", {"seed": 1}, book_copy)
