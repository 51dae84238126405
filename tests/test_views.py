"""Read-side helpers shared by the CLI, the export and the web."""

from storyline.types import SourceCount
from storyline.views import sources_line


def test_sources_line_names_the_top_outlets_then_counts_the_rest():
    counts = [SourceCount(source=f"Outlet {i}", snippets=20 - i) for i in range(15)]
    line = sources_line(counts, shown=3)
    assert line == "Sources: Outlet 0 (20), Outlet 1 (19), Outlet 2 (18) and 12 more"
    assert sources_line(counts[:2], shown=3) == "Sources: Outlet 0 (20), Outlet 1 (19)"
