"""Whole-process speed of ``storyline cluster`` on UCI News dev (4,234 headlines).

    python benchmarks/cluster_speed.py [--repeat 5] [--floor]

Writes UCI dev as the evaluation interface's IN.jsonl (6-hour batches, as
cluster_quality.py cuts them), then times ``storyline cluster IN --out OUT`` and
``storyline cluster IN --out OUT --fast`` as separate processes, interleaved, and
reports the median wall time of each: interpreter start, imports, model load,
reading, clustering and writing, everything a user waits for.

``--floor`` also times what the fast run cannot do without: the interpreter and the
imports of the cluster command, loading the static model, and the three library
calls every headline goes through once (normalising, MinHash signatures with
rensa, tokenising and pooling with the static model), to set beside the budget
that 5,000 headlines/s would allow.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import uci  # noqa: E402

TARGETS = {"default": 300, "fast": 5000}  # headlines/s the engine issue asks for


def storyline_command() -> list[str]:
    script = Path(sys.executable).with_name("storyline")
    return [str(script)] if script.exists() else ["storyline"]


def write_items(records, path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps({"id": r.id, "text": r.text, "batch": r.batch,
                                 "source": r.source, "url": r.url}, ensure_ascii=False) + "\n")


def run_seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def floor(records, repeat: int) -> list[tuple[str, float]]:
    """Seconds of the fast run's unavoidable parts, each the median of ``repeat``."""
    from storyline.config import Config
    from storyline.models.encoders import load_encoder
    from storyline.pipeline.dedupe import signatures
    from storyline.pipeline.normalize import normalize
    from storyline.pipeline.represent import leads

    python = sys.executable
    parts = [
        ("interpreter start", [python, "-c", "pass"]),
        ("+ imports of the cluster command",
         [python, "-c", "import storyline.cli, storyline.engine, storyline.jobs"]),
    ]
    out = []
    for label, command in parts:
        out.append((label, statistics.median(run_seconds(command) for _ in range(repeat))))
    out[1] = (out[1][0], out[1][1] - out[0][1])

    def timed(fn) -> float:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    out.append(("load the static model", timed(lambda: load_encoder("static"))))
    encoder = load_encoder("static")
    snippets = [normalize(r) for r in records]
    texts = [s.text for s in snippets]
    lead_texts = leads(texts, Config().lead_words)
    out.append(("normalise every headline", timed(lambda: [normalize(r) for r in records])))
    out.append(("MinHash signatures (rensa)", timed(lambda: signatures(texts))))
    out.append(("embed (static model)", timed(lambda: encoder.encode(lead_texts))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of each preset, interleaved; medians are reported")
    parser.add_argument("--floor", action="store_true",
                        help="also time the fast run's fixed costs")
    args = parser.parse_args()
    data = uci()
    if data is None:
        print("skipped: ../shared/data/uci-news/dev.csv is not there")
        return
    n = len(data.records)
    times: dict[str, list[float]] = {"default": [], "fast": []}
    with tempfile.TemporaryDirectory() as tmp:
        items, out = Path(tmp) / "uci-dev.jsonl", Path(tmp) / "out.jsonl"
        write_items(data.records, items)
        base = storyline_command() + ["cluster", str(items), "--out", str(out)]
        for _ in range(args.repeat):  # interleaved, so that a busy moment hits both
            for name in times:
                times[name].append(run_seconds(base + (["--fast"] if name == "fast" else [])))
                lines = out.read_text(encoding="utf-8").count("\n")
                if lines != n:
                    raise SystemExit(f"{out}: {lines} lines for {n} items")
    print(f"storyline cluster on {n} UCI dev headlines, whole process, "
          f"median of {args.repeat} runs")
    print(f"{'preset':8} {'median s':>9} {'range s':>12} {'headlines/s':>12} {'target':>7}")
    for name, runs in times.items():
        med = statistics.median(runs)
        print(f"{name:8} {med:9.2f} {min(runs):5.2f}-{max(runs):<6.2f} {n / med:12.0f} "
              f"{TARGETS[name]:>7}")
    if args.floor:
        parts = floor(data.records, args.repeat)
        print(f"\nfast run's fixed costs (medians of {args.repeat}); "
              f"{TARGETS['fast']}/s allows {n / TARGETS['fast']:.2f} s in all")
        for label, seconds in parts:
            print(f"  {label:34} {seconds:6.3f} s")
        print(f"  {'sum, before any clustering':34} {sum(s for _, s in parts):6.3f} s")


if __name__ == "__main__":
    main()
