"""Watching sources: a folder of batch files, RSS/Atom feeds and article pages.

:class:`Watcher` polls, on an interval, (1) a folder where batch files are dropped (each
new file is a batch, named as ``storyline ingest`` names it), and (2) feeds and article
pages, whose new items go into one batch per poll, named by the time
(``20250118T101500Z``). A feed item becomes a snippet of its title and lead (the
description, HTML stripped, cut to its first sentences); an article page goes through
trafilatura for its title and first paragraph. An item already in the store (same link
or id) is never ingested twice, across restarts too: the store is what remembers.
``storyline watch`` runs a watcher alone; ``storyline serve --watch-folder/--feed`` runs
one beside the server, through the server's single writer.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from calendar import timegm
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import feedparser
import trafilatura

from storyline.config import Config
from storyline.dates import parse_date
from storyline.errors import StoreBusyError, StoreUnavailableError, StorylineError
from storyline.folder_wait import FolderChanges
from storyline.pipeline.describe import split_sentences
from storyline.pipeline.normalize import normalize, titled_text
from storyline.pipeline.read import MAX_LINE_CHARS, SUFFIXES
from storyline.types import IngestReport, Record

log = logging.getLogger("storyline.feeds")

USER_AGENT = "storyline-watch/0.1 (+https://pypi.org/project/storyline/)"
MAX_FETCH_BYTES = 10 * 1024 * 1024
# ``timeout`` bounds each wait for the server; a whole fetch is given up past this many
# of them (a server that sends a byte now and then would hold a poll forever).
FETCH_TIMEOUTS = 6
_SPACE = re.compile(r"\s+")


from storyline.errors import FetchError  # noqa: E402  (re-exported)


class Sink(Protocol):
    """Where a watcher ingests: :class:`storyline.web.access.StoreAccess` is one."""

    def ingest_paths(self, paths: list[Path], window: timedelta | None = None,
                     encoding: str | None = None) -> list[IngestReport]: ...

    def ingest_records(self, records: list[Record], origin: str, whole: bool = False
                       ) -> list[IngestReport]: ...

    def known_links(self) -> set[str]: ...

    def has_batch(self, name: str) -> bool: ...


# -- fetching and parsing ------------------------------------------------------------


@dataclass
class Fetched:
    content: bytes
    url: str
    etag: str | None = None
    modified: str | None = None
    not_modified: bool = False


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch(source: str, timeout: float = 20.0, etag: str | None = None,
          modified: str | None = None) -> Fetched:
    """A URL's body (http or https, with a timeout and a size cap) or a local file's."""
    if not is_url(source):
        path = Path(source.removeprefix("file://")).expanduser()
        try:
            return Fetched(path.read_bytes(), path.resolve().as_uri())
        except OSError as exc:
            raise FetchError(f"{source}: {exc.strerror or exc}") from None
    headers = {"User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    request = urllib.request.Request(source, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = _body(response, source, FETCH_TIMEOUTS * timeout)
            return Fetched(data, response.geturl(), response.headers.get("ETag"),
                           response.headers.get("Last-Modified"))
    except urllib.error.HTTPError as exc:
        if exc.code == 304:  # conditional GET: nothing new since the last poll
            return Fetched(b"", source, etag, modified, not_modified=True)
        # One line: urllib's message for a redirect loop runs over three.
        raise FetchError(_SPACE.sub(" ", f"{source}: HTTP {exc.code} {exc.reason}")) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(_SPACE.sub(" ", f"{source}: {reason}")) from None


def _body(response: Any, source: str, seconds: float) -> bytes:
    """The response's body, at most MAX_FETCH_BYTES, read within ``seconds``."""
    deadline = time.monotonic() + seconds
    parts: list[bytes] = []
    size = 0
    while chunk := response.read1(1 << 16):
        parts.append(chunk)
        size += len(chunk)
        if size > MAX_FETCH_BYTES:
            raise FetchError(f"{source}: over {MAX_FETCH_BYTES} bytes")
        if time.monotonic() > deadline:
            raise FetchError(f"{source}: still sending after {seconds:g} s; given up")
    return b"".join(parts)


def html_text(markup: str) -> str:
    """Text of an HTML fragment (a feed's description), tags dropped, entities decoded."""
    if "<" not in markup and "&" not in markup:
        return _SPACE.sub(" ", markup).strip()
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except Exception:  # lxml raises several kinds on broken markup: keep the bare text
        return _SPACE.sub(" ", re.sub(r"<[^>]*>", " ", markup)).strip()
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    # Block elements end paragraphs: the lead is the first one.
    for block in root.xpath("//p|//div|//br|//li|//h1|//h2|//h3|//h4|//blockquote"):
        block.tail = "\n" + (block.tail or "")
    text = root.text_content()
    return "\n".join(_SPACE.sub(" ", line).strip() for line in text.split("\n")).strip()


def lead(text: str, max_words: int = Config.lead_words) -> str:
    """The first paragraph, cut to whole sentences within ``max_words`` (the first
    sentence is kept whole up to twice that, then cut with an ellipsis)."""
    paragraphs = [p.strip() for p in text.split("\n") if p.strip()]
    first = next((p for p in paragraphs if len(p.split()) >= 5), paragraphs[0] if paragraphs
                 else "")
    first = _SPACE.sub(" ", first)
    out: list[str] = []
    words = 0
    for sentence in split_sentences(first):
        n = len(sentence.split())
        if out and words + n > max_words:
            break
        out.append(sentence)
        words += n
    result = " ".join(out)
    tokens = result.split()
    if len(tokens) > 2 * max_words:
        result = " ".join(tokens[:max_words]) + "…"
    return result


def _iso(entry: Any) -> str | None:
    """An item's date (published, else updated) as ISO 8601 UTC, read as ``ingest`` reads
    a date (feedparser reads a time without a zone as none, and a zone it does not know,
    IST or JST, as UTC); None for no date, or one no news item has (before 1900, or past
    tomorrow: a feed's mistake would name a window of its own)."""
    raw = entry.get("published") or entry.get("updated")
    when = parse_date(raw) if isinstance(raw, str) else None
    if when is None and not isinstance(raw, str):  # no string: what feedparser made of it
        parsed = entry.get("published_parsed") or entry.get("updated_parsed")
        try:
            when = datetime.fromtimestamp(timegm(parsed), UTC) if parsed else None
        except (TypeError, ValueError, OverflowError):
            return None
    if when is None or when.year < 1900 or when > datetime.now(UTC) + timedelta(days=1):
        return None
    return when.isoformat(timespec="seconds")


def _capped(text: str) -> str:
    """A snippet no longer than a line ingest takes (MAX_LINE_CHARS), cut at a word."""
    if len(text) <= MAX_LINE_CHARS:
        return text
    return text[:MAX_LINE_CHARS - 2].rsplit(" ", 1)[0] + " …"


def _host(url: str) -> str | None:
    host = urlsplit(url).netloc
    return host.removeprefix("www.") or None


def item_id(guid: str | None, link: str | None, text: str, feed: str) -> str:
    """A feed item's id among everything stored: its guid where that names it anywhere (a
    URL, a URN, a tag), a guid only this feed gives meaning to ("1") under the feed's
    address, else its link, else its text's digest under the feed's address (an item
    with neither is still a new item once, and only once).

    >>> item_id("42", None, "x", "https://news.example/rss")
    'https://news.example/rss#42'
    >>> item_id(None, "https://news.example/a", "x", "f")
    'https://news.example/a'
    """
    if guid and ":" in guid:
        return guid
    if guid:
        return f"{feed}#{guid}"
    if link:
        return link
    return f"{feed}#sha1:{hashlib.sha1(text.encode()).hexdigest()[:16]}"


def feed_records(content: bytes, url: str) -> list[Record]:
    """One record per feed item (title + lead), newest-first order kept as given."""
    parsed = feedparser.parse(content, response_headers={"content-location": url})
    if not parsed.entries and not parsed.get("version"):
        raise FetchError(f"{url}: not an RSS or Atom feed")
    outlet = html_text(parsed.feed.get("title", "")) or _host(url)
    records = []
    for entry in parsed.entries:
        title = html_text(entry.get("title", ""))
        summary = entry.get("summary", "")
        if not summary and entry.get("content"):
            summary = entry["content"][0].get("value", "")
        text = _capped(titled_text(title, lead(html_text(summary))))
        if not text:
            continue
        link = entry.get("link")
        item_source = entry.get("source", {}).get("title") if entry.get("source") else None
        records.append(Record(
            text=text, batch="", id=item_id(entry.get("id"), link, text, url),
            source=item_source or outlet,
            url=link, published_at=_iso(entry),
            title=title or None, origin=url,
        ))
    return records


def article_record(content: bytes, url: str) -> Record | None:
    """The snippet of an article page: its title and first paragraph (trafilatura)."""
    doc = trafilatura.bare_extraction(content, url=url, with_metadata=True)
    if doc is None:
        return None
    title = _SPACE.sub(" ", doc.title or "").strip()
    paragraphs = [p for p in (doc.text or "").split("\n")
                  if p.strip() and p.strip().lower() != title.lower()]
    text = _capped(titled_text(title, lead("\n".join(paragraphs)) or (doc.description or "")))
    if not text:
        return None
    published = doc.date if doc.date and _valid_date(doc.date) else None
    return Record(text=text, batch="", id=url, source=doc.sitename or _host(url), url=url,
                  published_at=published, title=title or None, origin=url)


def _valid_date(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


# -- the watcher --------------------------------------------------------------------


@dataclass
class PollResult:
    reports: list[IngestReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Watcher:
    """Polls a folder, feeds and article pages, and ingests what is new."""

    def __init__(self, sink: Sink, *, folder: Path | None = None, feeds: list[str] = (),
                 articles: list[str] = (), fetch_articles: bool = False,
                 settle: float = 2.0, timeout: float = 20.0,
                 window: timedelta | None = None, encoding: str | None = None) -> None:
        self.sink = sink
        self.encoding = encoding  # the folder's files' (default: UTF-8)
        # Batches by published_at (``--window``) instead of one batch a poll or a file.
        self.window = window
        self.folder = Path(folder) if folder else None
        self.feeds = list(feeds)
        self.articles = list(articles)
        self.fetch_articles = fetch_articles
        # A file modified less than this long ago may still be being written.
        self.settle = settle
        self.timeout = timeout
        self._files: dict[Path, tuple[int, int]] = {}  # done (or failed) at this version
        self._known: set[str] | None = None
        self._validators: dict[str, tuple[str | None, str | None]] = {}
        self._folder_changes = FolderChanges(self.folder, settle) if self.folder else None

    def wait(self, interval: float, stop: threading.Event) -> bool:
        """Until the next poll: ``interval`` seconds, less when the watched folder changes
        (storyline.folder_wait); True when ``stop`` was set."""
        if self._folder_changes is None:
            return stop.wait(interval)
        return self._folder_changes.wait(interval, stop)

    def close(self) -> None:
        if self._folder_changes is not None:
            self._folder_changes.close()

    def run(self, interval: float, stop: threading.Event) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            try:
                result = self.poll()
                for report in result.reports:
                    log.info("batch %s: %d records, %d new snippets", report.batch,
                             report.records, report.new_snippets)
                for error in result.errors:
                    log.warning("%s", error)
            except Exception:  # one bad poll must not end the watching
                log.exception("poll failed")
            self.wait(interval, stop)
        self.close()

    def poll(self) -> PollResult:
        """One look at every source; what is new is ingested."""
        result = PollResult()
        if self.folder is not None:
            self._poll_folder(result)
        if self.feeds or self.articles:
            self._poll_web(result)
        return result

    def _poll_folder(self, result: PollResult) -> None:
        assert self.folder is not None
        if not self.folder.is_dir():
            result.errors.append(f"{self.folder}: no such folder")
            return
        now = time.time()
        for path in sorted(self.folder.iterdir()):
            if (path.name.startswith((".", "~")) or path.suffix.lower() not in SUFFIXES
                    or not path.is_file()):
                continue
            try:
                stat = path.stat()
            except OSError:
                continue  # gone since the listing
            version = (stat.st_mtime_ns, stat.st_size)
            if self._files.get(path) == version or now - stat.st_mtime < self.settle:
                continue
            self._files[path] = version  # a failed file is retried only once it changes
            try:
                result.reports.extend(self.sink.ingest_paths([path], window=self.window,
                                                             encoding=self.encoding))
            except (StorylineError, OSError) as exc:  # named once (an InputError names it)
                if isinstance(exc, StoreBusyError | StoreUnavailableError):
                    del self._files[path]  # the store's trouble, not the file's: next poll
                said = str(exc)
                result.errors.append(said if said.startswith(str(path)) else f"{path}: {said}")

    def _poll_web(self, result: PollResult) -> None:
        if self._known is None:
            self._known = self.sink.known_links()
        known = self._known
        fresh: list[Record] = []
        taken: set[str] = set()

        def new(record: Record) -> bool:
            keys = {k for k in (record.id, record.url) if k}
            if not keys or keys & known or keys & taken:
                return False
            if not normalize(record).text:
                return False
            taken.update(keys)
            return True

        validators: dict[str, tuple[str | None, str | None]] = {}
        for source in self.feeds:
            try:
                records = self._feed(source, validators)
            except FetchError as exc:
                result.errors.append(str(exc))
                continue
            for record in records:
                if new(record):
                    fresh.append(self._article_for(record, result) if self.fetch_articles
                                 else record)
        for source in self.articles:
            if source in known or source in taken:
                continue
            try:
                page = fetch(source, self.timeout)
                record = article_record(page.content, source)
            except FetchError as exc:
                result.errors.append(str(exc))
                continue
            if record is None:
                result.errors.append(f"{source}: no article text found")
                continue
            if new(record):
                fresh.append(record)
        if not fresh:
            self._validators.update(validators)
            return
        name = self._batch_name()
        if self.window is None:
            for record in fresh:
                record.batch = name
        else:
            self._name_windows(fresh)
        try:
            # Whole: a poll stopped halfway leaves nothing a rerun (its own batch name)
            # could not finish.
            result.reports.extend(self.sink.ingest_records(fresh, origin="watch", whole=True))
        except StorylineError as exc:
            result.errors.append(f"batch {name}: {exc}")
            return  # the feeds' validators unsaved: the next poll fetches them again whole
        self._validators.update(validators)
        known.update(k for r in fresh for k in (r.id, r.url) if k)

    def _feed(self, source: str, validators: dict[str, tuple[str | None, str | None]]
              ) -> list[Record]:
        """The feed's items; its new ETag and Last-Modified go into ``validators``, kept
        once the poll's items are stored (a 304 after a failed ingest would lose them)."""
        etag, modified = self._validators.get(source, (None, None))
        page = fetch(source, self.timeout, etag, modified)
        if page.not_modified:
            return []
        validators[source] = (page.etag, page.modified)
        return feed_records(page.content, page.url if is_url(source) else source)

    def _article_for(self, record: Record, result: PollResult) -> Record:
        """The item's article page as its snippet, when it can be had; else the item."""
        if not record.url or not is_url(record.url):
            return record
        try:
            page = fetch(record.url, self.timeout)
            article = article_record(page.content, record.url)
        except FetchError as exc:
            result.errors.append(str(exc))
            return record
        if article is None:
            return record
        article.id, article.source = record.id, record.source
        article.published_at = record.published_at or article.published_at
        return article

    def _name_windows(self, records: list[Record]) -> None:
        """Batches by published_at, oldest first (a feed lists the newest first); a
        window an earlier poll already wrote gets a batch of its own (``...-2``)."""
        from storyline.pipeline.window import windowed

        assert self.window is not None
        latest = datetime.max.replace(tzinfo=UTC)
        records.sort(key=lambda r: parse_date(r.published_at) or latest)
        renamed: dict[str, str] = {}
        for record in windowed(records, self.window, "feed"):
            if record.batch not in renamed:
                name, n = record.batch, 1
                while self.sink.has_batch(name):
                    n += 1
                    name = f"{record.batch}-{n}"
                renamed[record.batch] = name
            record.batch = renamed[record.batch]

    def _batch_name(self) -> str:
        base = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        name, n = base, 1
        while self.sink.has_batch(name):
            n += 1
            name = f"{base}-{n}"
        return name
