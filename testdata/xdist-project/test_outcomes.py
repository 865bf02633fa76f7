import time

import pytest


def test_passes():
    assert sum(range(10)) == 45


@pytest.mark.parametrize("n", range(8))
def test_parametrized(n):
    assert n * 2 == n + n


def test_fails():
    assert {"a": 1} == {"a": 2}


def test_raises_unexpectedly():
    raise RuntimeError("not what the test wanted")


@pytest.mark.skip(reason="skipped on purpose")
def test_skipped():
    pass


def test_skips_at_run_time():
    pytest.skip("decided at run time")


@pytest.mark.xfail(reason="known bug", strict=True)
def test_expected_failure():
    assert False


@pytest.fixture
def broken_fixture():
    raise ValueError("the fixture fails, so the test errors")


def test_errors_in_setup(broken_fixture):
    pass


def test_prints_a_lot(capsys):
    for i in range(20000):
        print("line %05d " % i + "x" * 40)
    assert True


def test_prints_a_lot_and_fails():
    for i in range(2000):
        print("output before the failure %04d" % i)
    assert 1 == 2


def test_slow():
    time.sleep(1.0)


def test_unicode_and_bytes():
    assert "héllo ✓".encode() == b"h\xc3\xa9llo \xe2\x9c\x93"


def test_records_a_bytes_property(record_property):
    # The report carries these bytes back to the master: a worker that
    # encodes bytes wrongly shows here.
    record_property("blob", b"\xff\xfe\x00")
