"""The one policy behind every loader (heart, credit, power): synthetic on request, real when it can be
fetched, and with source="auto" a stand-in that says why when it cannot."""
import pytest

from utils.download import DataUnavailable, real_or_stand_in

ARGS = dict(requested="asked", fallback="stand-in because {reason}")


def unavailable():
    raise DataUnavailable("the server refused", "the server was unreachable")


def test_synthetic_never_fetches():
    def fetch():
        raise AssertionError("fetched although the stand-in was requested")
    assert real_or_stand_in("synthetic", fetch, lambda p: ("real", p), lambda n: ("stand-in", n), **ARGS) == \
        ("stand-in", "asked")


@pytest.mark.parametrize("source", ["auto", "real"])
def test_real_data_when_it_can_be_fetched(source):
    assert real_or_stand_in(source, lambda: "file", lambda p: ("real", p), lambda n: ("stand-in", n), **ARGS) == \
        ("real", "file")


def test_auto_falls_back_and_says_why():
    got = real_or_stand_in("auto", unavailable, lambda p: ("real", p), lambda n: ("stand-in", n), **ARGS)
    assert got == ("stand-in", "stand-in because the server was unreachable")


def test_real_raises_instead_of_falling_back():
    with pytest.raises(DataUnavailable, match="refused"):
        real_or_stand_in("real", unavailable, lambda p: ("real", p), lambda n: ("stand-in", n), **ARGS)


def test_other_errors_are_not_swallowed():
    def broken():
        raise OSError("disk on fire")
    with pytest.raises(OSError, match="disk on fire"):
        real_or_stand_in("auto", broken, lambda p: p, lambda n: n, **ARGS)


def test_an_unknown_source_is_refused_by_name():
    with pytest.raises(ValueError, match=r"^unknown source 'cached'; choose one of \['auto', 'real', 'synthetic'\]$"):
        real_or_stand_in("cached", lambda: "file", lambda p: p, lambda n: n, **ARGS)
