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
    ('{"text": "x", "id": {"a": 1}}\n', r"bad.jsonl:1: field 'id' must be a string, not an obj"),
    ('{"text": "x", "source": ["AP"]}\n', r"bad.jsonl:1: field 'source' must be a string, not a"),
    ('{"text": "\\ud800 x"}\n', r"bad.jsonl:1: field 'text' holds an unpaired surrogate"),
    ('{"text": "\\u0000\\u200b\\u200b"}\n', r"bad.jsonl:1: no text left after cleaning"),
    ('[' * 5000 + ']' * 5000 + '\n', r"bad.jsonl:1: bad JSON: nested too deep"),
    ('{"text": "a", "x": ' + '[' * 5000 + ']' * 5000 + '}\n', r"bad.jsonl:1: bad JSON: nested"),
])
def test_bad_jsonl_names_file_and_line(tmp_path, content, message):
    f = write(tmp_path / "bad.jsonl", content)
    with pytest.raises(InputError, match=message):
        list(read_file(f))


def test_wrong_encoding_names_the_line_and_the_option_that_reads_it(tmp_path):
    latin = "caf\u00e9 cr\u00e8me\n".encode("latin-1")
    f = write(tmp_path / "latin.txt", b"fine\n" + latin)
    with pytest.raises(InputError, match=r"latin.txt:2: not valid UTF-8 \(byte 3\); name the "
                                         r"file's encoding with --encoding \(latin-1"):
        list(read_file(f))
    assert [r.text for r in read_file(f, encoding="latin-1")] == ["fine", "caf\u00e9 cr\u00e8me"]


@pytest.mark.parametrize("name,data", [
    ("a.txt", "Caf\u00e9 owners protest\r\n\u20ac5 tax \u2013 \u201cno\u201d\n"),
    ("a.jsonl", '{"text": "Caf\u00e9 owners protest", "source": "Le Monde"}\n'
                '{"text": "\u20ac5 tax \u2013 \u201cno\u201d"}\n'),
    ("a.csv", "text;source\nCaf\u00e9 owners protest;Le Monde\n"
              "\"\u20ac5 tax \u2013\n\u201cno\u201d\";\n"),
])
def test_a_file_in_the_encoding_it_is_said_to_be_in_is_read_in_it(tmp_path, name, data):
    """cp1252 (Windows' Western European: the euro, curly quotes and dashes in 0x80-0x9f)
    and the same text in UTF-8 give the same records."""
    wanted = [r.text for r in read_file(write(tmp_path / f"u{name}", data))]
    assert len(wanted) == 2 and "\u20ac5 tax" in wanted[1]
    f = write(tmp_path / name, data.encode("cp1252"))
    assert [r.text for r in read_file(f, encoding="cp1252")] == wanted
    assert [r.text for r in read_file(f, encoding="Windows-1252")] == wanted  # another name
    with pytest.raises(InputError, match=r"not valid UTF-8"):
        list(read_file(f))


def test_a_line_not_in_the_encoding_named_is_an_error_at_its_line(tmp_path):
    # 0x81 is no character in cp1252; UTF-8 named outright reads as the default does.
    f = write(tmp_path / "a.txt", b"fine\nbad \x81 byte\nfine too\n")
    skipped = []
    assert [r.line for r in read_file(f, encoding="cp1252", on_error=skipped.append)] == [1, 3]
    assert [str(e) for e in skipped] == [f"{f}:2: not valid cp1252 (byte 4); name the file's "
                                         "encoding with --encoding (latin-1, cp1252...) or "
                                         "convert it to UTF-8"]
    utf16 = write(tmp_path / "b.txt", "line one\n".encode("utf-16"))
    assert [r.text for r in read_file(utf16, encoding="utf-8")] == ["line one"]
    assert [r.text for r in read_file(write(tmp_path / "c.txt", b"\xef\xbb\xbfx\n"),
                                      encoding="UTF8")] == ["x"]


@pytest.mark.parametrize("name", ["nope", "base64", ""])
def test_an_encoding_that_is_none_is_a_usage_error(tmp_path, name):
    from storyline.errors import UsageError
    from storyline.pipeline.batches import file_batches

    f = write(tmp_path / "a.txt", "fine\n")
    with pytest.raises(UsageError, match="encoding"):
        next(file_batches([f], encoding=name))


def test_empty_file_is_an_error(tmp_path):
    f = write(tmp_path / "empty.txt", "\n\n")
    with pytest.raises(InputError, match="empty file"):
        list(read_file(f))


def test_a_json_field_is_held_to_a_text_line_s_length_escapes_aside(tmp_path):
    from storyline.pipeline.lines import MAX_LINE_CHARS

    quoted = 'He said "no" ' * (MAX_LINE_CHARS // 14)  # under the limit, over it escaped
    f = write(tmp_path / "q.jsonl", json.dumps({"text": quoted}) + "\n"
              + json.dumps({"text": "x" * (MAX_LINE_CHARS + 1)}) + "\n")
    assert len(f.read_text().splitlines()[0]) > MAX_LINE_CHARS
    skipped = []
    assert [r.text for r in read_file(f, on_error=skipped.append)] == [quoted]
    assert [e.message for e in skipped] == [
        f"field 'text' longer than {MAX_LINE_CHARS} characters"]


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


def test_an_unreadable_date_costs_only_that_field(tmp_path):
    f = write(tmp_path / "d.jsonl", '{"text": "a", "published_at": "yesterday"}\n'
              '{"text": "b", "published_at": "1998-14-06 14:27:00"}\n'
              '{"text": "c", "published_at": "Tue, 10 Jun 2003 04:00:00 GMT"}\n'
              '{"text": "d", "published_at": 1394470370698}\n')
    warnings = []
    records = list(read_file(f, on_warning=warnings.append))
    assert [r.published_at for r in records] == [
        None, None, "2003-06-10T04:00:00+00:00", "2014-03-10T16:52:50+00:00"]
    assert [str(w) for w in warnings] == [
        f"{f}:1: published_at 'yesterday' is not a date storyline can read; the record is "
        "kept without one",
        f"{f}:2: published_at '1998-14-06 14:27:00' is not a date storyline can read; the "
        "record is kept without one"]


def test_csv_time_column_in_epoch_milliseconds(tmp_path):
    f = write(tmp_path / "uci.csv", "TITLE,TIMESTAMP\nFed holds rates,1394470370698\n")
    (r,) = read_file(f, columns={"title": "TITLE", "published_at": "TIMESTAMP"})
    assert r.published_at == "2014-03-10T16:52:50+00:00"


def test_csv_unterminated_quote_names_its_line(tmp_path):
    f = write(tmp_path / "q.csv", 'id,text\n1,"Fire in the hills\n2,Flood downtown\n')
    with pytest.raises(InputError, match=r"q.csv:2: unterminated quote"):
        list(read_file(f))
    skipped = []
    with pytest.raises(InputError, match=r"q.csv:2: unterminated quote"):
        list(read_file(f, on_error=skipped.append))  # the rest cannot be split into rows


def test_csv_stray_quote_is_a_bad_row_not_a_merge(tmp_path):
    f = write(tmp_path / "q.csv", 'id,text\n1,"Fire" in the hills\n2,Flood downtown\n')
    skipped = []
    records = list(read_file(f, on_error=skipped.append))
    assert [r.text for r in records] == ["Flood downtown"]
    assert str(skipped[0]).startswith(f"{f}:2: bad CSV")


def test_csv_newline_inside_quotes_is_a_space(tmp_path):
    f = write(tmp_path / "n.csv", 'id,text\n1,"Fire in\nthe hills"\n2,Flood\n')
    records = list(read_file(f))
    assert [(r.id, r.text, r.line) for r in records] == [
        ("1", "Fire in the hills", 2), ("2", "Flood", 4)]


@pytest.mark.parametrize("eol", ["\r", "\r\n", "\n"])
def test_any_line_ending_splits_lines(tmp_path, eol):
    f = write(tmp_path / "e.csv", eol.join(["id,text", "1,Fire", "2,Flood", ""]))
    assert [r.text for r in read_file(f)] == ["Fire", "Flood"]
    t = write(tmp_path / "e.txt", eol.join(["Fire", "Flood"]))
    assert [(r.text, r.line) for r in read_file(t)] == [("Fire", 1), ("Flood", 2)]


def test_cr_only_file_larger_than_a_read_chunk(tmp_path):
    lines = [f"headline number {i}" for i in range(20_000)]
    f = write(tmp_path / "mac.txt", "\r".join(lines))
    records = list(read_file(f))
    assert len(records) == 20_000 and records[-1].text == lines[-1]


def test_a_line_of_many_read_chunks_keeps_its_ending_across_them():
    """A long line is read in growing chunks and not searched again: a "\\r\\n" split
    between two of them is one line ending still, and a whole 20 MB line is read in
    time linear in it (it took seconds, searched again at each 64 KiB read)."""
    import io
    import time

    from storyline.pipeline.lines import raw_lines

    head = b"a" * (2 * 65536 - 1)  # its "\r" ends the second read, its "\n" opens the third
    assert list(raw_lines(io.BytesIO(head + b"\r\nb\r"), 10**9)) == [head, b"b"]
    started = time.perf_counter()
    assert [len(x) for x in raw_lines(io.BytesIO(b"x" * 20_000_000 + b"\ny"), 10**9)] == [
        20_000_000, 1]
    assert time.perf_counter() - started < 2


def test_ids_as_numbers_are_text_and_objects_are_refused(tmp_path):
    f = write(tmp_path / "i.csv", "id,text\n12,a\n")
    assert next(read_file(f)).id == "12"
    j = write(tmp_path / "i.jsonl", '{"id": 12, "text": "a"}\n{"id": true, "text": "b"}\n')
    skipped = []
    assert [r.id for r in read_file(j, on_error=skipped.append)] == ["12"]
    assert "field 'id' must be a string, not true/false" in str(skipped[0])


def test_unknown_extension_needs_a_format(tmp_path):
    from storyline.errors import UsageError
    from storyline.pipeline.read import list_inputs

    f = write(tmp_path / "gold.json", '{"text": "a"}\n')
    with pytest.raises(UsageError, match=r"gold.json: unknown extension '.json'.*--format"):
        list(read_file(f))
    with pytest.raises(UsageError, match="unknown extension"):
        list_inputs(f)
    assert list_inputs(f, "jsonl").files == [f]
    assert [r.text for r in read_file(f, fmt="jsonl")] == ["a"]


def test_a_folder_names_what_it_skipped(tmp_path):
    from storyline.pipeline.read import list_inputs

    write(tmp_path / "001.txt", "a\n")
    write(tmp_path / "gold.json", "{}\n")
    write(tmp_path / "x.tsv", "a\tb\n")
    (tmp_path / "sub").mkdir()
    inputs = list_inputs(tmp_path)
    assert [p.name for p in inputs.files] == ["001.txt"]
    assert sorted(s.split(": ", 1)[1] for s in inputs.skipped) == [
        "a folder (folders are not read recursively)",
        "not a batch file (.txt, .jsonl, .csv)", "not a batch file (.txt, .jsonl, .csv)"]


def test_standard_input_is_a_batch(monkeypatch):
    import io
    import sys

    fake = io.TextIOWrapper(io.BytesIO(b'{"text": "a"}\n{"text": "b"}\n'))
    monkeypatch.setattr(sys, "stdin", fake)
    records = list(read_file(Path("-"), fmt="jsonl"))
    assert [(r.text, r.batch, r.origin) for r in records] == [
        ("a", "stdin", "<stdin>"), ("b", "stdin", "<stdin>")]


def test_a_line_of_nuls_is_one_bad_record(tmp_path):
    f = write(tmp_path / "z.txt", "Fire in the hills\n\x00\x00\x00\n\u200b\u200b\nFlood\n")
    skipped = []
    assert [r.text for r in read_file(f, on_error=skipped.append)] == ["Fire in the hills",
                                                                        "Flood"]
    assert [e.line for e in skipped] == [2, 3]
    assert all("no text left after cleaning" in str(e) for e in skipped)


def test_utf16_with_its_byte_order_mark_is_read(tmp_path):
    # Excel's "Unicode text": UTF-16 (either byte order, after its mark), tab-separated.
    f = write(tmp_path / "u.txt", "Fire in the hills\r\nFlood downtown \u00e9\n".encode("utf-16"))
    assert [(r.line, r.text) for r in read_file(f)] == [(1, "Fire in the hills"),
                                                         (2, "Flood downtown \u00e9")]
    g = write(tmp_path / "x.csv", b"\xfe\xff" + "text\tsource\r\nFed holds\tAP\r\n".encode(
        "utf-16-be"))
    assert [(r.line, r.text, r.source) for r in read_file(g)] == [(2, "Fed holds", "AP")]


def test_utf16_that_breaks_is_an_error_at_its_line(tmp_path):
    # A lone surrogate on line 2, an odd byte at the end: those lines, not the file.
    data = "Fire\n".encode("utf-16") + "\ud800\nok\n".encode("utf-16-le", "surrogatepass")
    f = write(tmp_path / "u.txt", data + b"x")
    skipped = []
    assert [(r.line, r.text) for r in read_file(f, on_error=skipped.append)] == [
        (1, "Fire"), (3, "ok")]
    advice = "name the file's encoding with --encoding (latin-1, cp1252...) or convert it to UTF-8"
    assert [str(e) for e in skipped] == [f"{f}:2: not valid UTF-16 (byte 0); {advice}",
                                         f"{f}:4: not valid UTF-16 (byte 0); {advice}"]


@pytest.mark.parametrize("header,row", [
    ("text;source;published_at", "Fed holds rates, again;Reuters;2025-01-13"),
    ("text\tsource\tpublished_at", "Fed holds rates, again\tReuters\t2025-01-13"),
    ("text|source|published_at", "Fed holds rates, again|Reuters|2025-01-13"),
    ('text,"source; outlet",published_at', '"Fed holds rates, again",Reuters,2025-01-13'),
])
def test_csv_delimiter_is_the_one_its_header_uses(tmp_path, header, row):
    f = write(tmp_path / "x.csv", f"{header}\n{row}\n")
    columns = {"source": "source; outlet"} if "outlet" in header else None
    (r,) = read_file(f, columns=columns)
    assert (r.text, r.source, r.published_at) == ("Fed holds rates, again", "Reuters",
                                                  "2025-01-13")


def test_csv_columns_are_found_whatever_their_case_and_spaces(tmp_path):
    f = write(tmp_path / "x.csv", "Text , SOURCE,text2\nFed holds rates,Reuters,x\n")
    (r,) = read_file(f)
    assert (r.text, r.source) == ("Fed holds rates", "Reuters")
    # A name as given wins over one that only matches folded.
    g = write(tmp_path / "y.csv", "Text,text\nnot this,Fed holds rates\n")
    assert [r.text for r in read_file(g)] == ["Fed holds rates"]


def test_csv_column_named_twice_is_an_error(tmp_path):
    f = write(tmp_path / "x.csv", "text,source,text\nFed holds rates,Reuters,Other\n")
    with pytest.raises(InputError, match=r"x.csv:1: column 'text' is in the header 2 times "
                                         r"\(columns 1, 3\)"):
        list(read_file(f, on_error=lambda e: None))
    g = write(tmp_path / "y.csv", "text, Source,source \nFed holds rates,Reuters,AP\n")
    with pytest.raises(InputError, match=r"column 'source' is in the header 2 times"):
        list(read_file(g))


def test_csv_field_excel_wrote_as_a_formula_is_its_text(tmp_path):
    f = write(tmp_path / "x.csv", 'id,text\n="00123","=""Fed"" holds rates"\n'
                                  '="00124",="Apple ""ships"""\n')
    assert [(r.id, r.text) for r in read_file(f)] == [("00123", '="Fed" holds rates'),
                                                      ("00124", 'Apple "ships"')]


@pytest.mark.parametrize("data", [b"t\xe9xt,source\nFed holds,AP\n",
                                  b"\xff\xfe" + "text\n".encode("utf-16-le")[:-1]])
def test_csv_header_that_cannot_be_read_says_why(tmp_path, data):
    f = write(tmp_path / "x.csv", data)
    with pytest.raises(InputError, match=r"x.csv:1: not valid UTF-(8|16)"):
        list(read_file(f))


def test_a_folder_s_broken_link_is_not_read_and_stops_nothing(tmp_path):
    from storyline.pipeline.read import list_inputs

    (tmp_path / "a.txt").write_text("Fed holds rates\n")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")  # a link to a file is read
    (tmp_path / "c.txt").symlink_to(tmp_path / "gone.txt")
    inputs = list_inputs(tmp_path)
    assert [p.name for p in inputs.files] == ["a.txt", "b.txt"]
    assert inputs.skipped == [f"{tmp_path / 'c.txt'}: a broken link"]


@pytest.mark.parametrize("data", ['[{"text": "Fed holds rates"}, {"text": "Apple ships"}]\n',
                                  '\n[\n  {"text": "Fed holds rates"},\n  {"text": "A"}\n]\n'])
def test_a_json_array_file_is_named_as_one_even_skipping_bad_records(tmp_path, data):
    f = write(tmp_path / "x.jsonl", data)
    with pytest.raises(InputError, match=r"x.jsonl:\d: a JSON array, not JSON Lines"):
        list(read_file(f, on_error=lambda e: None))


@pytest.mark.parametrize("encoding,data,says", [
    # No byte order mark: Python's UTF-16 and UTF-32 decoders raised UnicodeError (the
    # CLI's 'unexpected UnicodeError ... a damaged store?', exit 3).
    ("utf-16", "line one\nline two\n".encode("utf-16-le"), "no byte order mark"),
    ("UTF-32", "line one\n".encode("utf-32-be"), "no byte order mark"),
    # Another encoding's mark: its bytes were read as text ('ï»¿line one', 'ÿþ' and NULs).
    ("latin-1", b"\xef\xbb\xbfline one\nline two\n", "byte order mark of UTF-8"),
    ("cp1252", "line one\n".encode("utf-16"), "byte order mark of UTF-16"),
    ("utf-16-be", b"\xff\xfe" + "line one\n".encode("utf-16-le"), "mark of UTF-16"),
    ("utf-16", b"\xef\xbb\xbfline one\n", "byte order mark of UTF-8"),
], ids=["utf-16", "utf-32", "latin-1 utf-8 mark", "cp1252 utf-16 mark", "be le mark",
        "utf-16 utf-8 mark"])
def test_a_file_whose_byte_order_mark_is_not_that_of_the_encoding_named_is_refused(
        tmp_path, encoding, data, says):
    f = write(tmp_path / "a.txt", data)
    skipped: list = []
    with pytest.raises(InputError, match=f"a.txt:1: .*{says}") as error:
        list(read_file(f, encoding=encoding, on_error=skipped.append))
    assert "--encoding" in str(error.value) and not skipped


@pytest.mark.parametrize("encoding,data", [
    ("utf-16", "line one\n".encode("utf-16")), ("utf-16-le", "line one\n".encode("utf-16")),
    ("utf-16-be", "\ufeffline one\n".encode("utf-16-be")),
    ("utf-16-le", "line one\n".encode("utf-16-le")), ("utf-32", "line one\n".encode("utf-32")),
    ("utf-8", "\ufeffline one\n".encode()), ("latin-1", b"line one\n"), ("latin-1", b"\xff"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_file_with_the_mark_of_the_encoding_named_or_none_is_read(tmp_path, encoding,
                                                                    data):
    f = write(tmp_path / "a.txt", data)
    assert [r.text for r in read_file(f, encoding=encoding)] == [
        data.decode(encoding).lstrip("\ufeff").strip()]


def test_ingest_encoding_utf16_of_a_file_without_its_mark_is_one_line_at_line_1(tmp_path):
    from .conftest import run_cli

    f = write(tmp_path / "a.txt", "line one\n".encode("utf-16-le"))
    refused = run_cli("ingest", "--fast", "--db", str(tmp_path / "s.db"), str(f),
                      "--encoding", "utf-16", check=False)
    assert refused.returncode == 1 and refused.stderr.startswith(f"error: {f}:1: ")
    assert "unexpected" not in refused.stderr and "utf-16-le" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
