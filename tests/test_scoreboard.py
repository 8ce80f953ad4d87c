"""The scoreboard reads every chapter's ledger; failed or missing chapters are listed as failed."""
import json
import re

import pytest
from docutils.nodes import make_id

from layerwise import book, config, scoreboard
from layerwise.cli import main

from conftest import copy_book


def write_run(folder, status="ok", claims=(), preset="book", error=""):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps({"status": status, "preset": preset, "error": error}))
    if status == "ok":
        (folder / "claims.json").write_text(json.dumps({"claims": list(claims), "numbers": {}}))


def claim(claim_id, verdict="reproduced", measured="0.5 / 0.6 / 0.7 (seeds 0, 1, 2)", section="", reason="3/3 pass"):
    return {"id": claim_id, "kind": "claim", "statement": "C_l | falls $fast$", "source": "Wang et al. 2023",
            "test": ">= 0.4", "measured": measured, "verdict": verdict, "note": "", "section": section,
            "reason": reason, "control": {"name": "untrained net", "measured": "0.1 / 0.2 / 0.1 (seeds 0, 1, 2)"}}


@pytest.fixture
def chapters(tmp_path):
    write_run(tmp_path / "01_deep_linear_compression",
              claims=[claim("a", section="2. The rate against its closed form"), claim("b", "not reproduced"),
                      claim("c", "inconclusive", reason="the control passes the same test too")])
    write_run(tmp_path / "02_assumption_checks", status="failed", error="DataError: boom")
    return tmp_path


def test_every_claim_is_a_row_and_failed_or_missing_chapters_are_failed_rows(chapters):
    rows = scoreboard.gather(chapters, ["01", "02", "03"])
    assert [(r.chapter, r.claim, r.verdict) for r in rows] == [
        ("01", "a", "reproduced"), ("01", "b", "not reproduced"), ("01", "c", "inconclusive"),
        ("02", "", "failed"), ("03", "", "failed")]
    assert "failed to execute: DataError: boom" in rows[3].statement
    assert "was not executed" in rows[4].statement
    assert rows[0].control == "untrained net: 0.1 / 0.2 / 0.1 (seeds 0, 1, 2)"
    assert scoreboard.summary(rows) == ("1 of 3 claims reproduced, 1 not reproduced, 1 inconclusive at the book "
                                        "preset; 2 chapters failed (02, 03)")


def test_sanity_entries_are_gathered_apart_and_never_counted(tmp_path):
    write_run(tmp_path / "01_deep_linear_compression", claims=[claim("a")])
    path = tmp_path / "01_deep_linear_compression" / "claims.json"
    ledger = json.loads(path.read_text())
    ledger["sanity"] = [{"id": "identity", "kind": "sanity", "statement": "holds", "source": "", "test": "<= 1e-12",
                         "measured": "1e-15", "verdict": "ok"}]
    path.write_text(json.dumps(ledger))
    rows, sanity = scoreboard.gather(tmp_path, ["01"]), scoreboard.gather_sanity(tmp_path, ["01"])
    assert [r.claim for r in rows] == ["a"] and [r.claim for r in sanity] == ["identity"]
    page = scoreboard.to_markdown(rows, sanity)
    assert "## Sanity checks" in page and "1 of 1 pass." in page and page.count("<code>identity</code>") == 1


def test_a_chapter_that_ran_but_saved_no_claims_is_failed(tmp_path):
    write_run(tmp_path / "01_deep_linear_compression", claims=[])
    (row,) = scoreboard.gather(tmp_path, ["01"])
    assert row.verdict == "failed" and "saved no claims" in row.statement


@pytest.mark.parametrize("heading", ["1. The theory check", "2. The rate against its closed form",
                                     "4. Nonlinear networks: the MLP and the hybrid (Figs. 1 and 5)", "Verdicts"])
def test_section_anchor_is_the_id_sphinx_gives_the_heading(heading):
    assert scoreboard.anchor(heading) == make_id(heading)


def test_markdown_is_one_table_whose_rows_carry_the_navigator_attributes(chapters):
    page = scoreboard.to_markdown(scoreboard.gather(chapters, ["01", "02"]))
    assert page.startswith("# Scoreboard\n\n**1 of 3 claims reproduced, 1 not reproduced, 1 inconclusive at the "
                           "book preset; 1 chapter failed (02).**")
    assert page.count('<table class="lw-scoreboard lw-claims">') == 1 and page.count("<tbody>") == 1
    header = re.search(r"<thead><tr>(.*?)</tr></thead>", page).group(1)
    assert re.findall(r"<th>(.*?)</th>", header) == ["chapter", "claim", "verdict", "measured vs threshold", "control",
                                                      "seeds", "provenance", "reading", "replicated"]
    rows = re.findall(r"<tr (data-[^>]*)>(.*?)</tr>", page)
    assert len(rows) == 4
    attrs = [dict(re.findall(r'(data-[a-z]+)="([^"]*)"', a)) for a, _ in rows]
    assert attrs[0] == {"data-chapter": "01", "data-verdict": "reproduced", "data-provenance": "unspecified",
                        "data-replicated": "not replicated", "data-headline": "false"}
    assert [a["data-verdict"] for a in attrs] == ["reproduced", "not reproduced", "inconclusive", "failed"]
    assert all(len(re.findall(r"<td", cells)) == 9 for _, cells in rows[:3])
    assert '<a href="../notebooks/01_deep_linear_compression.html#the-rate-against-its-closed-form">' in page
    assert "C_l | falls $fast$" in page
    assert "0.5 / 0.6 / 0.7 (seeds 0, 1, 2) <small>vs</small> <code>&gt;= 0.4</code>" in page  # an old ledger
    assert "1 reproduced, 1 not reproduced, 1 inconclusive of 3 claims" in page
    assert 'class="lw-chart"' in page  # the headline chart of claims by verdict per chapter


def test_a_new_ledgers_row_says_measured_vs_threshold_control_seeds_provenance_and_reading(tmp_path):
    new = {**claim("r", section="3. The rate"), "statement": "the ratio lies in the band (in [0.25, 0.32])",
           "test": "in [0.25, 0.32]", "value": "mean 0.281, 95% CI [0.268, 0.295]", "seeds": 8, "passes": None,
           "provenance": "paper", "explain": "The ratio sits in the band.", "figure": "fig-ch01-rate", "headline": True,
           "control": {"name": "untrained net", "measured": "...", "value": "mean 1"}}
    write_run(tmp_path / "01_deep_linear_compression", claims=[new])
    (row,) = scoreboard.gather(tmp_path, ["01"])
    html = scoreboard._row_html(row)
    cells = re.findall(r"<td>(.*?)</td>", html)
    assert cells[3] == "mean 0.281, 95% CI [0.268, 0.295] <small>vs</small> <code>in [0.25, 0.32]</code>"
    assert cells[4:] == ["untrained net mean 1", "8 seeds", "paper", "The ratio sits in the band.", "not replicated"]
    assert 'data-provenance="paper"' in html and 'data-headline="true"' in html
    assert '<a href="../notebooks/01_deep_linear_compression.html#fig-ch01-rate">figure</a>' in html


def test_html_in_a_statement_is_escaped(tmp_path):
    write_run(tmp_path / "01_deep_linear_compression", claims=[{**claim("a"), "statement": "<b>x</b> & y"}])
    page = scoreboard.to_markdown(scoreboard.gather(tmp_path, ["01"]))
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in page and "<b>x</b>" not in page


def test_front_page_lines_give_each_chapter_its_counts(chapters):
    lines = scoreboard.chapter_lines(scoreboard.gather(chapters, ["01", "02"]))
    assert lines[0] == ('- <a href="../notebooks/01_deep_linear_compression.html">01 Deep linear compression</a>: '
                        "1 reproduced, 1 not reproduced, 1 inconclusive of 3 claims")
    assert lines[1].startswith('- <a href="../notebooks/02_assumption_checks.html">02 ') and "failed" in lines[1]


def test_verdict_box_puts_headline_claims_first_and_folds_the_rest():
    claims = [claim("a", section="2. The rate against its closed form"),
              {**claim("b", "not reproduced"), "headline": True},
              claim("c", "inconclusive"), {**claim("d", "supported"), "headline": True, "provenance": "book",
                                           "figure": "fig-ch01-rate", "value": "mean 0.9", "seeds": 3, "passes": 3}]
    box = scoreboard.verdict_box(claims, preset="book")
    assert box.startswith(":::{admonition} Verdicts at the book preset: 1 reproduced, 1 not reproduced, 1 supported, "
                          "1 inconclusive\n:class: lw-verdicts\n")
    top, folded = box.split("<details><summary>2 more claims</summary>")
    assert top.count("\n- **") == 2 and folded.count("\n- **") == 2
    assert ("- **supported** &middot; C_l | falls $fast$: mean 0.9, 3/3 seeds pass; untrained net "
            '0.1 / 0.2 / 0.1 (seeds 0, 1, 2) &middot; this book &middot; <a href="#fig-ch01-rate">figure</a>') in top
    assert '<a href="#the-rate-against-its-closed-form">&sect;&nbsp;2. The rate against its closed form</a>' in folded
    assert box.rstrip().endswith(":::") and "</details>" in folded
    every = scoreboard.verdict_box([claim("a"), claim("b")])  # no headline claims marked: all shown, none folded
    assert "<details>" not in every and every.count("\n- **") == 2


def test_chapter_top_is_what_we_found_then_the_box_and_follows_a_flipped_verdict(tmp_path):
    from layerwise.claims import Control, Ledger

    def top(values):
        ledger = Ledger(config.resolve("01", "smoke", results_dir=str(tmp_path)))
        ledger.claim("band", statement="the ratio lies in the band", provenance="paper", test="in [0.25, 0.32]",
                     rule="mean", values=values, control=Control("untrained net", [1.0, 0.98, 1.01]), headline=True,
                     explain={"reproduced": "The ratio sits in the band ({value}).",
                              "not reproduced": "The ratio misses the band ({value})."})
        ledger.sanity("identity", measured=0.0, test="<= 1e-12", statement="an identity")
        ledger.save()
        return scoreboard.chapter_top(json.loads((tmp_path / "claims.json").read_text()))

    text = top([0.28, 0.29, 0.285])
    assert text.startswith(":::{admonition} What we found\n:class: lw-findings\n\nThe ratio sits in the band (mean")
    assert text.index("What we found") < text.index(":::{admonition} Verdicts at the smoke preset: 1 reproduced")
    assert "an identity" not in text  # sanity entries stay out of the box
    flipped = top([0.5, 0.52, 0.51])
    assert "The ratio misses the band (mean" in flipped and "**not reproduced**" in flipped
    assert scoreboard.chapter_top({"claims": [claim("old")]}).startswith(":::{admonition} Verdicts")  # no findings


def test_compare_lists_claims_whose_verdict_changed_appeared_or_vanished(tmp_path):
    write_run(tmp_path / "a" / "01_deep_linear_compression", claims=[claim("x"), claim("y"), claim("gone")])
    write_run(tmp_path / "b" / "01_deep_linear_compression",
              claims=[claim("x"), claim("y", "inconclusive"), claim("new", "not reproduced")])
    before, after = (scoreboard.gather(tmp_path / k, ["01", "02"]) for k in "ab")
    assert scoreboard.compare(before, after) == [("01", "y", "reproduced", "inconclusive"),
                                                 ("01", "gone", "reproduced", "absent"),
                                                 ("01", "new", "absent", "not reproduced")]
    assert scoreboard.compare(before, before) == []


def test_terminal_table_has_the_summary_and_every_verdict(chapters):
    text = scoreboard.to_text(scoreboard.gather(chapters, ["01", "02"]))
    assert text.splitlines()[0].startswith("1 of 3 claims reproduced")
    assert "not reproduced" in text and "failed to execute" in text


def test_scoreboard_command_prints_the_table_and_fails_when_a_chapter_failed(tmp_path, capsys):
    root = copy_book(tmp_path)
    numbers = book.discover(root)
    for n in numbers:
        write_run(book.chapters_dir(root) / config.CHAPTERS[n].slug, claims=[claim(f"claim-{n}")])
    assert main(["--root", str(root), "scoreboard"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{len(numbers)} of {len(numbers)} claims reproduced, 0 not reproduced, 0 inconclusive "
                          "at the book preset")
    assert all(f"claim-{n}" in out for n in numbers)
    write_run(book.chapters_dir(root) / config.CHAPTERS["01"].slug, status="failed", error="boom")
    assert main(["--root", str(root), "scoreboard"]) == 1
    assert "failed to execute: boom" in capsys.readouterr().out


def test_scoreboard_against_another_build_lists_changed_verdicts(tmp_path, capsys):
    (tmp_path / "book").mkdir()
    root = copy_book(tmp_path / "book")
    other = tmp_path / "gpu-run"
    for n in book.discover(root):
        write_run(book.chapters_dir(root) / config.CHAPTERS[n].slug, claims=[claim(f"claim-{n}")])
        write_run(other / config.CHAPTERS[n].slug, claims=[claim(f"claim-{n}")])
    assert main(["--root", str(root), "scoreboard", "--against", str(other)]) == 0
    assert "no verdict changed" in capsys.readouterr().out
    write_run(other / config.CHAPTERS["01"].slug, claims=[claim("claim-01", "not reproduced")])
    assert main(["--root", str(root), "scoreboard", "--against", str(other)]) == 1
    out = capsys.readouterr().out
    assert "1 verdict changed:" in out
    assert [line.split() for line in out.splitlines() if line.startswith("01 ")] == [
        ["01", "claim-01", "not", "reproduced", "reproduced"]]
    assert main(["--root", str(root), "scoreboard", "--against", str(tmp_path / "nowhere")]) == 2
    assert "no executed chapters there" in capsys.readouterr().err


def test_the_box_is_built_from_the_saved_ledger(tmp_path):
    from layerwise.claims import Control, Ledger

    cfg = config.resolve("01", "smoke", results_dir=str(tmp_path))
    ledger = Ledger(cfg)
    ledger.claim("a", statement="ranks fall", source="s", test="> 0.5", values=[0.9, 0.8, 0.7],
                 control=Control("untrained", [0.1, 0.2, 0.1]), section="2. The rate")
    ledger.save()
    saved = json.loads((tmp_path / "claims.json").read_text())
    box = scoreboard.verdict_box(saved["claims"], preset="smoke")
    assert "ranks fall" in box and 'href="#the-rate"' in box
