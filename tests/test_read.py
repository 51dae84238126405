"""Stage 1: readers, formats and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storyline.pipeline.read import InputError, batch_files, batch_name, read_file


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_plain_text_one_snippet_a_line(tmp_path):
    f = write(tmp_path / "007_x.txt", "first line\n\n  second line  \n")
    records = list(read_file(f))
    assert [r.text for r in records] == ["first line", "  second line  "]
    assert [r.line for r in records] == [1, 3]
    assert {r.batch for r in records} == {"007"}


def test_utf8_bom_is_dropped(tmp_path):
    f = write(tmp_path / "a.txt", b"\xef\xbb\xbfHello world\n")
    assert [r.text for r in read_file(f)] == ["Hello world"]


def test_jsonl_fields(tmp_path):
    rows = [{"text": "A", "id": "1", "source": "AP", "url": "http://x", "published_at":
             "2025-01-11T10:00:00Z", "title": "T", "batch": "b1"}, {"text": "B"}]
    f = write(tmp_path / "in.jsonl", "\n".join(json.dumps(r) for r in rows))
    a, b = read_file(f)
    assert (a.id, a.source, a.url, a.batch, a.title) == ("1", "AP", "http://x", "b1", "T")
    assert b.batch == "in" and b.id is None


def test_csv_with_column_mapping(tmp_path):
    f = write(tmp_path / "feed.csv", 'headline,outlet\n"Fed holds rates, again",Reuters\n')
    (r,) = read_file(f, columns={"text": "headline", "source": "outlet"})
    assert (r.text, r.source, r.line) == ("Fed holds rates, again", "Reuters", 2)


def test_headline_only_csv_reads_its_titles(tmp_path):
    # UCI-style files: a title column and no text column.
    f = write(tmp_path / "news.csv", 'id,title,publisher\n7,"Mt. Gox files for bankruptcy",AP\n')
    (r,) = read_file(f, columns={"source": "publisher"})
    assert (r.id, r.text, r.title, r.source) == ("7", "Mt. Gox files for bankruptcy",
                                                 "Mt. Gox files for bankruptcy", "AP")
    g = write(tmp_path / "other.csv", 'headline,window\n"Fed holds rates",w001\n')
    (r,) = read_file(g, columns={"title": "headline", "batch": "window"})
    assert (r.text, r.batch) == ("Fed holds rates", "w001")


def test_csv_without_text_column_names_it(tmp_path):
    f = write(tmp_path / "feed.csv", "headline\nx\n")
    with pytest.raises(InputError, match="feed.csv:1: no column 'text'"):
        list(read_file(f))


@pytest.mark.parametrize("content,message", [
    ('{"text": "ok"}\n{"text": "broken\n', r"bad.jsonl:2: bad JSON"),
    ('{"text": "ok"}\n["a list"]\n', r"bad.jsonl:2: expected a JSON object"),
    ('{"id": "1"}\n', r"bad.jsonl:1: missing required field 'text'"),
    ('{"text": "  "}\n', r"bad.jsonl:1: field 'text' is empty"),
    ('{"text": "x", "published_at": "yesterday"}\n', r"bad.jsonl:1: published_at"),
])
def test_bad_jsonl_names_file_and_line(tmp_path, content, message):
    f = write(tmp_path / "bad.jsonl", content)
    with pytest.raises(InputError, match=message):
        list(read_file(f))


def test_wrong_encoding_names_the_line(tmp_path):
    latin = "caf\u00e9 cr\u00e8me\n".encode("latin-1")
    f = write(tmp_path / "latin.txt", b"fine\n" + latin)
    with pytest.raises(InputError, match=r"latin.txt:2: not valid UTF-8"):
        list(read_file(f))


def test_empty_file_is_an_error(tmp_path):
    f = write(tmp_path / "empty.txt", "\n\n")
    with pytest.raises(InputError, match="empty file"):
        list(read_file(f))


def test_huge_line_is_refused_without_reading_it_whole(tmp_path):
    f = write(tmp_path / "huge.txt", "ok\n" + "x" * 1_000_000 + "\nafter\n")
    with pytest.raises(InputError, match=r"huge.txt:2: line longer than"):
        list(read_file(f))
    skipped = []
    assert [r.text for r in read_file(f, on_error=skipped.append)] == ["ok", "after"]
    assert len(skipped) == 1


def test_skip_bad_reports_and_goes_on(tmp_path):
    f = write(tmp_path / "mixed.jsonl", '{"text": "a"}\nnot json\n{"text": "b"}\n')
    skipped = []
    assert [r.text for r in read_file(f, on_error=skipped.append)] == ["a", "b"]
    assert "mixed.jsonl:2" in str(skipped[0])


def test_directory_is_batches_in_name_order(tmp_path):
    for name in ("010_b.txt", "002_a.txt", "notes.md"):
        write(tmp_path / name, "x\n")
    assert [p.name for p in batch_files(tmp_path)] == ["002_a.txt", "010_b.txt"]
    assert batch_name(Path("000_4b9f.txt")) == "000"


def test_a_title_stands_in_for_a_missing_text(tmp_path):
    f = write(tmp_path / "t.jsonl", '{"title": "Fed holds rates", "text": ""}\n')
    (r,) = read_file(f)
    assert (r.text, r.title) == ("Fed holds rates", "Fed holds rates")
