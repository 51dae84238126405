"""Who published a snippet (its outlet), as opposed to who is quoted in it (an attribution,
pipeline/facts): the item's ``source`` when given, else its url's host."""

from __future__ import annotations

from urllib.parse import urlsplit


def outlet_of(source: str | None, url: str | None) -> str | None:
    """The outlet of an item, or None where neither a source nor a url says.

    >>> outlet_of(None, "https://www.reuters.com/world/x.html")
    'reuters.com'
    >>> outlet_of("Reuters", "https://example.org/a"), outlet_of(None, None)
    ('Reuters', None)
    >>> outlet_of("24\\\\/7 Wall St.", None)  # escaped in some feeds' exports
    '24/7 Wall St.'
    """
    if source and source.strip():
        return source.strip().replace("\\/", "/").replace("\\(", "(").replace("\\)", ")")
    if not url or not url.strip():
        return None
    try:
        host = urlsplit(url.strip() if "//" in url else "//" + url.strip()).hostname
    except ValueError:
        return None
    if not host or "." not in host:
        return None
    return host.removeprefix("www.")
