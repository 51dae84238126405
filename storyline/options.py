"""The command-line options the commands share, defined once (``storyline/cli.py`` and
``storyline/web/commands.py`` import them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from storyline.config import PRESETS

# typer reads these annotations at run time: Optional[...] rather than X | None, which
# it cannot read on every Python it supports.
DbOption = Annotated[
    Optional[str],
    typer.Option("--db", help="Store: a SQLite file or a postgresql://user:pass@host/dbname "
                 "URL [default: $STORYLINE_DB or ./storyline.db]",
                 show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
PresetOption = Annotated[
    Optional[str],
    typer.Option("--preset", help=f"Configuration: {', '.join(PRESETS)} [default: the one "
                 "the store was built with; default for a new store].", show_default=False),
]
# One name per model, everywhere (--model, `models list`, docs/glossary.md); the names the
# encoders, folders and older docs used are accepted as aliases.
MODEL_ALIASES = {
    "minilm-onnx": "minilm", "minilm-onnx-int8": "minilm", "minilm-int8": "minilm",
    "minilm-onnx-fp32": "minilm-fp32", "static-minilm": "static",
}
# The models each built folder holds, by their user-facing names.
MODELS_IN_FOLDER = {"minilm-onnx": ("minilm", "minilm-fp32"), "static-minilm": ("static",)}


def model_name(name: str | None) -> str | None:
    """The user-facing name of a model: ``minilm-onnx-int8`` -> ``minilm``."""
    return MODEL_ALIASES.get(name, name) if name else name


ModelOption = Annotated[
    Optional[str],
    typer.Option("--model", callback=model_name, metavar="MODEL",
                 help="Encoder: minilm, minilm-fp32, static, none (words only), st:PATH for a "
                 "local sentence-transformers model, or a model2vec folder [default: the one "
                 "the store was built with]."),
]
FastOption = Annotated[bool, typer.Option("--fast", help="Use the fast preset.")]
WindowOption = Annotated[
    Optional[str],
    typer.Option("--window", help="Cut each file into batches by published_at: 6h, 1d, 1w "
                 "(windows start at midnight UTC; a record without a date joins the one "
                 "before it)."),
]

# Watching sources (storyline serve and storyline watch).
FolderOption = Annotated[
    Optional[Path],
    typer.Option("--watch-folder", help="Ingest each batch file dropped in this folder "
                 "(write it under a name starting with '.' and rename it when complete).",
                 file_okay=False),
]
FeedOption = Annotated[
    Optional[list[str]],
    typer.Option("--feed", help="RSS or Atom feed, URL or file; new items become snippets "
                 "(title + lead). Repeat for more."),
]
ArticleOption = Annotated[
    Optional[list[str]],
    typer.Option("--article", help="Article page, URL or file: its title and first paragraph "
                 "become a snippet. Repeat for more."),
]
FetchOption = Annotated[
    bool, typer.Option("--fetch-articles", help="For feed items, fetch the linked page and "
                       "use its title and first paragraph instead of the feed's description."),
]
IntervalOption = Annotated[
    float, typer.Option("--interval", min=1.0, help="Seconds between polls.")
]


def encoding_name(name: str | None) -> str | None:
    """``--encoding``'s value, checked before any work: a name Python knows no text
    encoding by is a UsageError (exit 2) naming the option."""
    if name is None:
        return None
    from storyline.errors import UsageError
    from storyline.pipeline.lines import text_encoding

    try:
        return text_encoding(name)
    except UsageError as exc:
        raise UsageError(f"--encoding: {exc}") from None


EncodingOption = Annotated[
    Optional[str],
    typer.Option("--encoding", callback=encoding_name, metavar="NAME",
                 help="The files' text encoding: latin-1, cp1252, utf-16... [default: UTF-8, "
                 "or UTF-16 where a file starts with its byte order mark]",
                 show_default=False),
]
