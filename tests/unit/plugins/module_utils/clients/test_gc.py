from __future__ import annotations

import gc

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._gc import collector_paused


def test_collector_paused_inside_and_restored_after_errors():
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with collector_paused():
            assert not gc.isenabled()
            raise RuntimeError("boom")
    assert gc.isenabled()


def test_collector_left_off_when_it_was_off():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
