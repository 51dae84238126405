"""Does the online result depend on how the stream is cut into batches?

    python benchmarks/batch_windows.py                  # default and fast presets
    python benchmarks/batch_windows.py --preset fast

Runs UCI News dev through ``storyline.jobs.cluster_records`` (the code behind
``storyline cluster``) with the timestamp cut into windows of 1 hour up to one
single batch, and prints B³ and the speed for each. The quality benchmark uses
6-hour windows; a user's feed poller may send a batch every few minutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import uci  # noqa: E402
from storyline.config import preset  # noqa: E402
from storyline.evaluate import score_clusters  # noqa: E402
from storyline.jobs import cluster_records  # noqa: E402

WINDOWS_HOURS = (1, 3, 6, 12, 24, 10_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", help="default and fast unless given")
    args = parser.parse_args()
    if uci() is None:
        sys.exit("../shared/data/uci-news/dev.csv not found: nothing to measure")
    print(f"{'preset':<8} {'window':>7} {'batches':>7} {'B3 P':>6} {'B3 R':>6} {'B3 F1':>6} "
          f"{'items/s':>8}")
    for name in [args.preset] if args.preset else ["default", "fast"]:
        for hours in WINDOWS_HOURS:
            data = uci(window_hours=hours)
            started = time.perf_counter()
            out = cluster_records(data.records, preset(name))
            seconds = time.perf_counter() - started
            s = score_clusters({o["id"]: o["story"] for o in out}, data.gold)
            window = "one" if hours >= 10_000 else f"{hours}h"
            batches = len({r.batch for r in data.records})
            print(f"{name:<8} {window:>7} {batches:>7} {s.b3_precision:6.3f} {s.b3_recall:6.3f} "
                  f"{s.b3_f1:6.3f} {len(data.records) / seconds:8.0f}", flush=True)


if __name__ == "__main__":
    main()
