"""The cycle collector pause around an import: nests, and gives back the state it found."""

from __future__ import annotations

import gc

from portal.collector import collector_paused


def test_the_pause_nests_and_the_collector_comes_back():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block's end is not the outer one's
    assert gc.isenabled()


def test_the_collector_comes_back_after_an_error():
    try:
        with collector_paused():
            raise RuntimeError("the import failed")
    except RuntimeError:
        pass
    assert gc.isenabled()


def test_a_collector_turned_off_by_someone_else_stays_off():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
