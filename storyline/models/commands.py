"""``storyline models``: build and list the embedding models."""

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from storyline import shapes
from storyline.cli_support import LazyConsole
from storyline.options import JsonOption

out = LazyConsole(soft_wrap=True)
models_app = typer.Typer(help="Build and inspect the embedding models.", no_args_is_help=True)


@models_app.command("build")
def models_build(
    force: Annotated[bool, typer.Option(help="Build again even if built.")] = False,
    target: Annotated[Optional[Path], typer.Option(help="Folder [default: $STORYLINE_MODELS "
                                                   "or ~/.local/share/storyline/models]")] = None,
) -> None:
    """Build the static and ONNX models from the packaged MiniLM (needs storyline[build])."""
    from storyline.models.build import build_models

    built = build_models(target, force=force)
    for name, path in built.items():
        out.print(f"{name}: {path}")


@models_app.command("list")
def models_list(as_json: JsonOption = False) -> None:
    """The models storyline can load here."""
    from storyline.models.build import is_built, models_dir
    from storyline.options import MODELS_IN_FOLDER

    root = models_dir()
    # A folder without a finished build (its manifest) is no model the commands can load.
    rows = [{"name": name, "path": str(p)} for p in sorted(root.glob("*"))
            if p.is_dir() and is_built(p) for name in MODELS_IN_FOLDER.get(p.name, (p.name,))]
    if as_json:
        sys.stdout.write(shapes.dumps(rows) + "\n")
        return
    for r in rows:
        out.print(f"{r['name']}: {r['path']}")
    if not rows:
        out.print(f"no models in {root}: run `storyline models build`")
