"""Stage 4 on Spark: the three views of each canonical snippet.

Embeddings come from a pandas UDF. The static model (``--fast``) is broadcast
to the executors as its files' bytes, so a cluster's nodes need no model
folder; MiniLM (the default preset) is loaded once per executor process from
that node's built models (``storyline models build`` on every node). Word and
name counts are hashed per snippet; their document frequencies, and the mean
embedding the fast preset centres on, are computed over the whole archive
before any window is clustered ("the stream statistics, globally first").
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from storyline.pipeline.represent import N_FEATURES

_ENCODERS: dict[str, object] = {}  # per executor process: loaded once, used by every batch
FEATURE_SCHEMA = ("t_cols array<int>, t_cnt array<float>, n_cols array<int>, "
                  "n_cnt array<float>")


def model_files(model: str) -> dict[str, bytes] | None:
    """The static model's files to broadcast (None for other models)."""
    if model != "static":
        return None
    from storyline.models.build import STATIC_DIR, models_dir
    from storyline.models.encoders import ModelNotBuiltError

    folder = models_dir() / STATIC_DIR
    if not (folder / "config.json").is_file():
        raise ModelNotBuiltError("model2vec static model", folder)
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def executor_encoder(model: str, files: dict[str, bytes] | None):
    """This executor's encoder: from broadcast files, or loaded by name."""
    if model not in _ENCODERS:
        if model == "none":
            from storyline.models.encoders import NoEncoder

            _ENCODERS[model] = NoEncoder()
        elif files is not None:
            from storyline.models.encoders import StaticEncoder

            # The encoder reads its files whole when built, so the folder goes with it.
            with tempfile.TemporaryDirectory(prefix="storyline-static-") as tmp:
                folder = Path(tmp)
                for name, data in files.items():
                    (folder / name).write_bytes(data)
                _ENCODERS[model] = StaticEncoder(folder, name="static")
        else:
            from storyline.models.encoders import load_encoder

            _ENCODERS[model] = load_encoder(model)
    return _ENCODERS[model]


def encoder_info(model: str) -> tuple[str, int]:
    """Name and dimension of the encoder (on the driver, for the store and sums)."""
    encoder = executor_encoder(model, model_files(model))
    return encoder.name, int(encoder.dim)


def with_features(spark, canon, model: str, lead_words: int):
    """``canon`` (ord, norm, …) with dense (array<float>) and hashed counts."""
    from pyspark.sql.functions import pandas_udf

    from storyline.pipeline.represent import leads
    from storyline.spark.windows import count_columns

    files = spark.sparkContext.broadcast(model_files(model))

    def embed(texts: pd.Series) -> pd.Series:
        encoder = executor_encoder(model, files.value)
        vectors = encoder.encode(leads(list(texts), lead_words)).astype(np.float32)
        return pd.Series(list(vectors))

    def counts(texts: pd.Series) -> pd.DataFrame:
        return count_columns(list(texts), lead_words)

    dense = pandas_udf(embed, "array<float>")
    views = pandas_udf(counts, FEATURE_SCHEMA)
    return canon.withColumn("dense", dense("norm")).withColumn("v", views("norm")) \
                .select("*", "v.*").drop("v")


def document_frequencies(canon) -> tuple[np.ndarray, np.ndarray, int]:
    """Word and name document frequencies over all canonical snippets, and their number."""
    from pyspark.sql import functions as F

    out = []
    for col in ("t_cols", "n_cols"):
        rows = canon.select(F.explode(col).alias("c")).groupBy("c").count().collect()
        df = np.zeros(N_FEATURES, dtype=np.int32)
        if rows:
            cols = np.fromiter((r["c"] for r in rows), dtype=np.int64, count=len(rows))
            df[cols] = np.fromiter((r["count"] for r in rows), dtype=np.int64, count=len(rows))
        out.append(df)
    return out[0], out[1], canon.count()


def dense_sum(canon, dim: int) -> np.ndarray:
    """The sum of all embeddings (partial sums per partition, added on the driver)."""
    def partial(frames):
        total = np.zeros(dim, dtype=np.float64)
        for frame in frames:
            if len(frame):
                total += np.vstack(frame["dense"].to_numpy()).sum(axis=0)
        yield pd.DataFrame({"sum": [total.tolist()]})

    rows = canon.select("dense").mapInPandas(partial, "sum array<double>").collect()
    return np.sum([np.asarray(r["sum"]) for r in rows], axis=0) if rows else np.zeros(dim)
