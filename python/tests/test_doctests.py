"""The examples in the package's docstrings run and print what they say."""

import doctest
import importlib

import pytest

MODULES = ["cirl.offswitch"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
