"""Ingest: structure-aware chunking of both corpus files, de-duplication, incremental and idempotent
re-ingest into a real Chroma index (real embedding model), and bad files skipped with a warning."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.encoders import question_encoder
from assistant.schema import Span
from assistant.settings import Settings
from assistant.store import Store
from assistant.text import dedupe_key, normalise_ws
from ingest.chunk import Chunk, chunk_document
from ingest.dedupe import deduplicate
from ingest.load import load
from ingest.pipeline import IngestReport, run_ingest
from tests.conftest import CORPUS, TABLE_ROWS, make_settings

MAIN = "ray-3.2-vs-ray-3.txt"
DIGEST = "ray-3.2-vs-ray-3-digest.txt"
GUIDES = {
    "Use Ray 3.2 for rescue and reuse": ("ray-3.2", ["The performance is good", "The timing is already cut",
                                                     "The environment or product needs to change"]),
    "Use Ray 3 for invention": ("ray-3", ["No source clip exists", "The scene direction is still open",
                                          "You need broad creative exploration"]),
    "Use both in sequence": ("both", ["Generate a direction in Ray 3", "Pick the strongest take",
                                      "Transform and localize with Ray 3.2"]),
}
QUESTIONS = [
    "What is the main difference between Ray 3.2 and Ray 3?",
    "When should I choose Ray 3.2?",
    "When should I choose Ray 3?",
    "Can I use Ray 3 and Ray 3.2 together?",
    "Is Ray 3.2 always better for production?",
    "Which model is better for product marketing?",
    "Which model gives more control over an existing clip?",
    "Should beginners start with Ray 3 or Ray 3.2?",
]
SECTIONS = {"Introduction", "Comparison", "Decision guide", "FAQ"}
SHIPPED_BEFORE, SHIPPED_AFTER = 46, 24
REPEATED = ("Ray 3.2 is strongest when the source take matters: timing, motion, camera path, performance, "
            "or product placement already exist and need controlled transformation.")
OLD_ANSWER = ("Choose Ray 3 when you do not have a source clip yet and need to explore the first visual "
              "direction from a prompt, image, or loose creative idea.")
NEW_ANSWER = ("Choose Ray 3 whenever no footage has been shot and the team wants several rough takes of a "
              "storyboard frame before committing to anything.")


def chunks_of(name: str) -> list[Chunk]:
    return chunk_document(load(CORPUS / name))


def all_chunks(corpus: Path = CORPUS) -> list[Chunk]:
    return [c for path in sorted(corpus.iterdir()) for c in chunk_document(load(path))]


def corpus_copy(base: Path, *names: str) -> Path:
    (base / "corpus").mkdir(parents=True)
    for name in names or (MAIN, DIGEST):
        shutil.copy(CORPUS / name, base / "corpus" / name)
    return base / "corpus"


class Counting:
    """A progress callback that records how many chunks the ingest embedded."""

    def __init__(self) -> None:
        self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.total = total


def ingest(settings: Settings, **kwargs: object) -> tuple[IngestReport, int]:
    counting = Counting()
    report = run_ingest(settings, progress=counting, **kwargs)  # type: ignore[arg-type]
    return report, counting.total


def stored(settings: Settings) -> dict[str, tuple[list[str], str]]:
    """chunk id -> (sources, text) of the active collection."""
    return {p.chunk_id: (p.sources, p.text) for p in Store(settings).passages()}


def our_collections(settings: Settings) -> set[str]:
    store = Store(settings)
    return {name for name in store._collection_names() if name.startswith(settings.collection)}


# -- chunking --------------------------------------------------------------------------------------------


def test_main_page_chunks_by_structure() -> None:
    chunks = chunks_of(MAIN)
    kinds = [c.kind for c in chunks]
    assert kinds.count("table-row") == 6 and kinds.count("guide") == 3 and kinds.count("faq") == 8
    assert kinds.count("prose") >= 3
    assert set(kinds) == {"table-row", "guide", "faq", "prose"}
    assert {c.section for c in chunks} == SECTIONS

    rows = [c for c in chunks if c.kind == "table-row"]
    assert [c.heading for c in rows] == TABLE_ROWS
    for row in rows:
        assert row.section == "Comparison"
        assert [(s.stance, s.label) for s in row.spans] == [("ray-3.2", f"{row.heading} (Ray 3.2)"),
                                                            ("ray-3", f"{row.heading} (Ray 3)")]
    by_row = {r.heading: r for r in rows}
    assert by_row["Best starting point"].spans[0].text == "Existing source clip"
    assert by_row["Production use"].spans[1].text == "Concept, first draft, scene generation"

    guides = [c for c in chunks if c.kind == "guide"]
    assert [g.heading for g in guides] == list(GUIDES)
    for guide in guides:
        stance, items = GUIDES[guide.heading]
        assert guide.section == "Decision guide"
        assert [s.text for s in guide.spans if s.text != guide.heading] == items
        assert {s.stance for s in guide.spans} == {stance}

    faqs = [c for c in chunks if c.kind == "faq"]
    assert [f.heading for f in faqs] == QUESTIONS
    assert {f.section for f in faqs} == {"FAQ"}
    for faq in faqs:
        assert faq.text.startswith(f"Q: {faq.heading} A: ")
        assert len(faq.spans) >= 2  # the question and at least one answer sentence
    marketing = next(f for f in faqs if f.heading == "Which model is better for product marketing?")
    assert [s.stance for s in marketing.spans[1:]] == ["ray-3.2", "ray-3"]


def test_digest_yields_the_same_table_rows_and_no_faq() -> None:
    main, digest = chunks_of(MAIN), chunks_of(DIGEST)
    rows = [c for c in digest if c.kind == "table-row"]
    assert [r.heading for r in rows] == TABLE_ROWS
    # Parsed from the Markdown table, yet the same passages as the flattened page's glued rows.
    assert [r.chunk_id for r in rows] == [c.chunk_id for c in main if c.kind == "table-row"]
    assert [[(s.text, s.stance) for s in r.spans] for r in rows] == \
        [[(s.text, s.stance) for s in c.spans] for c in main if c.kind == "table-row"]
    assert not [c for c in digest if c.kind == "faq"]  # the digest lost the questions
    assert {c.section for c in digest} == SECTIONS


@pytest.mark.parametrize("name", [MAIN, DIGEST])
def test_every_span_is_verbatim_in_its_file(name: str) -> None:
    text = normalise_ws((CORPUS / name).read_text(encoding="utf-8"))
    chunks = chunks_of(name)
    assert chunks and all(c.source == name for c in chunks)
    for chunk in chunks:
        assert chunk.spans, chunk.text
        for span in chunk.spans:
            assert normalise_ws(span.text) in text, (chunk.heading, span.text)


# -- de-duplication ----------------------------------------------------------------------------------------


def test_dedupe_stores_each_passage_once_with_every_source() -> None:
    chunks = all_chunks()
    assert len(chunks) == SHIPPED_BEFORE
    kept = deduplicate(chunks)
    assert len(kept) == SHIPPED_AFTER
    keys = [dedupe_key(c.text) for c in kept]
    assert len(set(keys)) == len(keys)
    assert len({c.chunk_id for c in kept}) == len(kept)

    # Stable: the same corpus always gives the same chunks, in the same order, with the same sources.
    again = deduplicate(all_chunks())
    assert [(c.chunk_id, c.sources) for c in again] == [(c.chunk_id, c.sources) for c in kept]

    # The paragraph the digest repeats is stored once, and credited to both files.
    holders = [c for c in kept if dedupe_key(REPEATED) in dedupe_key(c.text)]
    assert len(holders) == 1
    assert sorted(holders[0].sources) == sorted([MAIN, DIGEST])
    digest_only = deduplicate(chunks_of(DIGEST))
    assert len([c for c in digest_only if dedupe_key(REPEATED) in dedupe_key(c.text)]) == 1

    # Rows, guides and FAQ answers are in both files: one chunk each, naming both.
    for chunk in kept:
        if chunk.kind in ("table-row", "guide", "faq"):
            assert sorted(chunk.sources) == sorted([MAIN, DIGEST]), chunk.heading
        assert chunk.source == chunk.sources[0]
    # The structured copy is the one kept: the page's FAQ pairs and headed lists, not the digest's
    # bare answers and unheaded list.
    assert [c.kind for c in kept].count("faq") == 8 and [c.kind for c in kept].count("guide") == 3
    assert all(c.source == MAIN for c in kept if c.kind in ("faq", "guide"))
    assert all(len(c.sources) == 2 for c in kept if c.kind != "prose")
    only_main = [c for c in kept if c.sources == [MAIN]]
    assert [c.text for c in only_main] == ["If your shot already exists, start with Ray 3.2"]


# -- the real index: idempotent, incremental, atomic ------------------------------------------------------


def test_reingest_is_a_no_op(tmp_path: Path) -> None:
    corpus_copy(tmp_path)
    settings = make_settings(tmp_path)
    first, embedded = ingest(settings)
    assert (first.added, first.updated, first.removed, first.unchanged) == (SHIPPED_AFTER, 0, 0, 0)
    assert (first.chunks_before_dedupe, first.chunks_stored, embedded) == (SHIPPED_BEFORE, SHIPPED_AFTER, 24)
    assert sorted(first.files) == sorted([MAIN, DIGEST]) and not first.skipped
    before = stored(settings)
    assert len(before) == SHIPPED_AFTER

    second, embedded = ingest(settings)
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 0, 0, SHIPPED_AFTER)
    assert embedded == 0
    assert second.collection == first.collection
    assert stored(settings) == before
    assert our_collections(settings) == {first.collection, f"{settings.collection}-active"}


@pytest.mark.parametrize("both_files", [False, True], ids=["main-only-corpus", "both-files"])
def test_editing_one_faq_answer_re_embeds_only_that_chunk(tmp_path: Path, both_files: bool) -> None:
    corpus = corpus_copy(tmp_path, *((MAIN, DIGEST) if both_files else (MAIN,)))
    settings = make_settings(tmp_path)
    first, _ = ingest(settings)
    total = first.chunks_stored
    before = stored(settings)
    for path in corpus.iterdir():  # edit the answer wherever the corpus holds it
        text = path.read_text(encoding="utf-8")
        assert OLD_ANSWER in text
        path.write_text(text.replace(OLD_ANSWER, NEW_ANSWER), encoding="utf-8")

    report, embedded = ingest(settings)
    assert embedded == 1
    assert report.added + report.updated == 1 and report.removed == 0
    assert report.unchanged == total - 1 and report.chunks_stored == total
    assert report.collection != first.collection
    after = stored(settings)
    (new_id,) = set(after) - set(before)
    (old_id,) = set(before) - set(after)
    assert NEW_ANSWER in after[new_id][1] and OLD_ANSWER in before[old_id][1]
    assert after[new_id][0] == before[old_id][0]  # same sources as before the edit
    # The replaced collection stays until the next switch: a running server may still answer from it.
    assert our_collections(settings) == {report.collection, first.collection, f"{settings.collection}-active"}

    store, encoder = Store(settings), question_encoder(settings)  # queries still work, and find the edited answer
    hits = store.query(encoder.embed(["several rough takes of a storyboard frame before committing"])[0], 3)
    assert hits[0][0] == new_id
    hits = store.query(encoder.embed(["Which model fits product footage that needs relighting?"])[0], 5)
    assert len(hits) == 5


def test_editing_only_the_main_file_keeps_the_digest_copy(tmp_path: Path) -> None:
    """The digest still says the old answer: it must stay findable, now as the digest's own chunk."""
    corpus = corpus_copy(tmp_path)
    settings = make_settings(tmp_path)
    ingest(settings)
    main = corpus / MAIN
    main.write_text(main.read_text(encoding="utf-8").replace(OLD_ANSWER, NEW_ANSWER), encoding="utf-8")

    report, embedded = ingest(settings)
    assert embedded == 2 and report.added + report.updated == 2 and report.removed == 0
    after = stored(settings)
    assert len(after) == SHIPPED_AFTER + 1
    [(old_sources, _)] = [v for v in after.values() if dedupe_key(OLD_ANSWER) in dedupe_key(v[1])]
    [(new_sources, _)] = [v for v in after.values() if dedupe_key(NEW_ANSWER) in dedupe_key(v[1])]
    assert old_sources == [DIGEST] and new_sources == [MAIN]


def test_deleting_a_file_updates_sources_and_removes_only_its_own_chunks(tmp_path: Path) -> None:
    corpus = corpus_copy(tmp_path)
    settings = make_settings(tmp_path)
    ingest(settings)
    before = stored(settings)

    (corpus / DIGEST).unlink()  # everything in the digest is also in the main page
    middle, embedded = ingest(settings)
    report = middle
    assert embedded == 0  # nothing new to embed: only the sources changed
    assert (report.added, report.removed) == (0, 0)
    assert report.updated == SHIPPED_AFTER - 1 and report.unchanged == 1  # all but the main-only chunk
    after = stored(settings)
    assert set(after) == set(before)
    assert {tuple(sources) for sources, _ in after.values()} == {(MAIN,)}

    shutil.copy(CORPUS / DIGEST, corpus / DIGEST)
    (corpus / MAIN).unlink()  # now only the digest is left
    report, _ = ingest(settings)
    expected = {c.chunk_id for c in deduplicate(chunks_of(DIGEST))}
    after = stored(settings)
    assert set(after) == expected and report.chunks_stored == len(expected)
    assert {tuple(sources) for sources, _ in after.values()} == {(DIGEST,)}
    assert report.files == [DIGEST]
    # Only the active and the one it replaced are kept; the first is gone.
    assert our_collections(settings) == {report.collection, middle.collection, f"{settings.collection}-active"}


def test_rebuild_re_embeds_everything(tmp_path: Path) -> None:
    corpus_copy(tmp_path)
    settings = make_settings(tmp_path)
    first, _ = ingest(settings)
    before = stored(settings)
    report, embedded = ingest(settings, rebuild=True)
    assert embedded == SHIPPED_AFTER
    assert (report.added, report.updated, report.removed, report.unchanged) == (SHIPPED_AFTER, 0, 0, 0)
    assert report.collection != first.collection
    assert stored(settings) == before
    assert our_collections(settings) == {report.collection, first.collection, f"{settings.collection}-active"}


# -- bad files -------------------------------------------------------------------------------------------

HTML = """<!doctype html>
<html><head><title>Night shoot notes</title><style>body { color: red }</style></head><body>
<h1>Night shoot notes</h1>
<p>These notes cover a night exterior that was filmed last week and now needs a warmer grade.</p>
<h2>Comparison</h2>
<table>
  <tr><th>Aspect</th><th>Ray 3.2</th><th>Ray 3</th></tr>
  <tr><td>Night exteriors</td><td>Regrades the filmed street scene</td><td>Dreams up a fresh street</td></tr>
  <tr><td>Crowd extras</td><td>Keeps the extras where they walked</td><td>Invents a new crowd</td></tr>
</table>
</body></html>
"""
BAD = {"empty.txt": "empty", "binary.txt": "binary", "latin1.txt": "UTF-8"}


def write_bad_files(corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(b"Ray 3.2 \x00\x01\x02\xff\xfe binary blob \x00" * 20)
    (corpus / "latin1.txt").write_bytes("Caf\u00e9 r\u00e9sum\u00e9: Ray 3.2 na\u00efve \u00fcber footage.\n"
                                        .encode("latin-1"))


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADVISOR_")}
    env.update(RAY_ADVISOR_CORPUS_DIR=str(tmp_path / "corpus"),
               RAY_ADVISOR_CHROMA_PATH=str(tmp_path / "chroma"),
               RAY_ADVISOR_MODEL_DIR=os.environ["RAY_ADVISOR_MODEL_DIR"])  # the session's encoder and decider
    exe = Path(sys.executable).with_name("ray-advisor")
    return subprocess.run([str(exe), "ingest", *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_bad_files_are_skipped_and_good_ones_ingested(tmp_path: Path) -> None:
    corpus = corpus_copy(tmp_path, MAIN)
    write_bad_files(corpus)
    (corpus / "night.html").write_text(HTML, encoding="utf-8")
    settings = make_settings(tmp_path)

    report, _ = ingest(settings)
    assert {s.path.name: s.reason for s in report.skipped}.keys() == BAD.keys()
    for skipped in report.skipped:
        assert BAD[skipped.path.name] in skipped.reason
    assert sorted(report.files) == sorted([MAIN, "night.html"])
    passages = [p for p in Store(settings).passages() if p.sources == ["night.html"]]
    rows = [p for p in passages if p.kind == "table-row"]
    assert sorted(r.heading for r in rows) == ["Crowd extras", "Night exteriors"]
    assert {r.section for r in rows} == {"Comparison"}
    night = next(r for r in rows if r.heading == "Night exteriors")
    assert [(s.text, s.stance) for s in night.spans] == [("Regrades the filmed street scene", "ray-3.2"),
                                                         ("Dreams up a fresh street", "ray-3")]
    assert any("filmed last week" in p.text and p.section == "Night shoot notes" for p in passages)
    assert not any("color: red" in p.text for p in passages)


def test_cli_warns_about_each_bad_file_and_fails_cleanly_without_good_ones(tmp_path: Path) -> None:
    # A folder name long enough that each warning runs past 80 columns, where Rich wraps when stderr is a pipe.
    base = tmp_path / "a-team-folder-whose-name-runs-long-enough-to-pass-one-terminal-line"
    corpus = corpus_copy(base, MAIN)
    write_bad_files(corpus)
    run = cli(base)
    assert run.returncode == 0, run.stderr
    err = " ".join(run.stderr.split())
    for name, reason in BAD.items():
        assert name in err and reason in err, err
        assert str(corpus / name) in run.stderr  # whole, as it can be copied from a log
    assert err.count("warning:") == len(BAD)
    assert "24 added" in run.stdout and "Traceback" not in run.stderr + run.stdout

    only_bad = tmp_path / "only-bad"
    write_bad_files(only_bad / "corpus")
    run = cli(only_bad)
    assert run.returncode == 1
    err = " ".join(run.stderr.split())
    assert "error:" in err and "nothing usable to ingest" in err, err
    for name in BAD:
        assert name in err
    assert "Traceback" not in run.stderr + run.stdout


def test_near_duplicates_fold_and_distinct_passages_do_not() -> None:
    def prose(text: str, source: str, order: int) -> Chunk:
        return Chunk(text=text, source=source, section="Notes", kind="prose", order=order,
                     spans=[Span(text=text, stance="none", label="")])

    base = ("The grade keeps the original timing of the take while the street lights shift to a warmer "
            "tone and the reflections on the wet road follow the new light source across the frame")
    near = base.replace("warmer", "softer")  # one word in 32: Jaccard above 0.85
    short = " ".join(base.split()[:20])  # a shorter passage: well under 0.85 of the words
    kept = deduplicate([prose(base, "a.txt", 0), prose(near, "b.txt", 0), prose(short, "c.txt", 0),
                        prose("Something else entirely about crowd extras.", "d.txt", 0)])
    assert [c.sources for c in kept] == [["a.txt", "b.txt"], ["c.txt"], ["d.txt"]]
