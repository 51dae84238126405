"""The store modules' examples run as written."""

import doctest
import importlib

import pytest

MODULES = ["storyline.store", "storyline.store.base", "storyline.store.rows",
           "storyline.store.sqlite", "storyline.store.sqlite_reads"]


@pytest.mark.parametrize("name", MODULES)
def test_store_examples_run(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0


def test_the_interface_has_an_example():
    result = doctest.testmod(importlib.import_module("storyline.store.base"))
    assert result.attempted >= 3
