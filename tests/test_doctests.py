"""The examples in the docstrings run: each module listed here is run through doctest.
Add a module when you give its docstrings an example."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "storyline.api",
    "storyline.config",
    "storyline.dates",
    "storyline.errors",
    "storyline.evaluate",
    "storyline.pipeline.lines",
    "storyline.pipeline.read",
    "storyline.pipeline.normalize",
    "storyline.pipeline.dedupe",
    "storyline.pipeline.represent",
    "storyline.pipeline.cluster",
    "storyline.pipeline.describe",
    "storyline.pipeline.headline",
    "storyline.pipeline.ivf",
    "storyline.outfile",
    "storyline.outlets",
    "storyline.remote",
    "storyline.search",
    "storyline.shapes",
    "storyline.spark.link",
    "storyline.store.vectors",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_every_listed_module_has_examples():
    finder = doctest.DocTestFinder()
    for name in MODULES:
        tests = finder.find(importlib.import_module(name))
        assert any(t.examples for t in tests), f"{name} has no docstring example"
