"""Stage 2 — normalise snippet text.

Unicode NFKC, one kind of quote and dash, single spaces, no boilerplate
prefixes ("BREAKING:", "UPDATE 2-", "WASHINGTON (Reuters) -"), and a flag for
snippets cut off mid-word (feeds often truncate descriptions).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from storyline.types import Record, Snippet

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u200b": "", "\ufeff": "",
})
_SPACES = re.compile(r"\s+")
# Prefixes that say how an item was published, not what happened.
_BOILERPLATE = re.compile(
    r"^(?:(?:breaking(?: news)?|update(?:d)?(?: \d+)?|exclusive|watch|video|live|opinion|"
    r"analysis|factbox|explainer|photos?|just in)\s*[:\-|]\s*"
    r"|[A-Z][A-Z .,'-]{2,40}\((?:AP|Reuters|AFP|UPI|Bloomberg|dpa)\)\s*[-:]\s*"
    r"|\((?:AP|Reuters|AFP|UPI)\)\s*[-:]\s*)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"""[.!?…"')\]]$""")
_WORD = re.compile(r"\w+", re.UNICODE)


def plain_characters(text: str) -> str:
    """NFKC, with one kind of quote and of dash (line breaks kept)."""
    return unicodedata.normalize("NFKC", text).translate(_QUOTES)


# Scripts written without spaces between words (Chinese, Japanese kana, Thai): about two
# characters a word, so that "at least four words" and a summary's word budget mean
# about as much there as in English.
_UNSPACED = re.compile("[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def word_count(text: str) -> int:
    """Words in ``text``, counting a run of unspaced script as about one word in two
    characters.

    >>> word_count("Nine people died"), word_count("日本政府已批准该计划。")
    (3, 5)
    """
    count = 0
    for token in text.split():
        unspaced = len(_UNSPACED.findall(token))
        count += max(1, (unspaced + 1) // 2) if unspaced else 1
    return count


def clean_text(text: str) -> str:
    """NFKC, plain quotes and dashes, single spaces, no boilerplate prefix."""
    text = plain_characters(text)
    if not text.isprintable():  # rare: walk the characters only then
        text = "".join(ch for ch in text if ch in "\t\n" or unicodedata.category(ch)[0] != "C")
    text = _SPACES.sub(" ", text).strip()
    for _ in range(2):  # "BREAKING: UPDATE 1-..." carries two
        stripped = _BOILERPLATE.sub("", text, count=1)
        if stripped == text or not stripped.strip():
            break
        text = stripped.strip()
    return text


def comparison_form(text: str) -> str:
    """Lower-case words only: equal forms are exact duplicates. A text without a word
    ("🔥🔥 🔥") is compared as written: two such texts are no copies of each other.

    >>> comparison_form("Fed HOLDS, rates!"), comparison_form("🔥🔥  🔥")
    ('fed holds rates', '🔥🔥 🔥')
    """
    return " ".join(_WORD.findall(text.casefold())) or " ".join(text.casefold().split())


def is_truncated(text: str) -> bool:
    """A snippet that stops without closing punctuation was cut off.

    Headlines carry no full stop either, so only longer snippets (more than 20
    words) that end on a bare word are marked.
    """
    if text.endswith(("...", "…")):
        return True
    return len(text.split()) > 20 and not _SENTENCE_END.search(text)


def titled_text(title: str | None, lead_text: str) -> str:
    """Title and lead as one snippet: "Title. Lead" (the lead alone when it starts
    with the title, as some feeds and article texts do; the title alone when there
    is no lead). A headline is the densest line of an item: it must be part of
    what is clustered and summarised, not only shown."""
    title, lead_text = (title or "").strip(), lead_text.strip()
    if not lead_text:
        return title
    if not title or lead_text.lower().startswith(title.lower().rstrip(".!?…")):
        return lead_text
    return f"{title}{'' if title[-1] in '.!?…:' else '.'} {lead_text}"


def normalize(record: Record) -> Snippet:
    """The record's text cleaned, with the key exact copies share.

    >>> a = normalize(Record(text="Fed  holds rates\u00a0steady", batch="1"))
    >>> b = normalize(Record(text="FED HOLDS RATES STEADY", batch="2"))
    >>> a.text, a.key == b.key
    ('Fed holds rates steady', True)
    """
    text = clean_text(titled_text(record.title, record.text))
    key = hashlib.blake2b(comparison_form(text).encode(), digest_size=16).hexdigest()
    return Snippet(record=record, text=text, key=key, truncated=is_truncated(text))
