"""The facts package's docstring examples run as written (``doctest``)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import storyline.pipeline.facts as facts_package

MODULES = sorted(f"{facts_package.__name__}.{m.name}"
                 for m in pkgutil.iter_modules(facts_package.__path__))


def test_every_module_is_found():
    assert "storyline.pipeline.facts.extractor" in MODULES


@pytest.mark.parametrize("name", [facts_package.__name__, *MODULES])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
