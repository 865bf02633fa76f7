"""Drive every conformance-profile procedure through a real execnet master.

usage: PYTHON drive_profile.py PROFILE_PY XSPEC EXPECTED_IMPLEMENTATION

Execs PROFILE_PY to get the procedure functions, opens a gateway with
execnet.makegateway(XSPEC), calls each procedure with remote_exec(function,
**kwargs) and checks the answers. Prints "ok <check>" per passed check and
exits 1 with "FAIL <check>: <why>" on the first failure.
"""
import sys

import execnet
from execnet import gateway_base

TIMEOUT = 20.0


def fail(check, why):
    print("FAIL %s: %s" % (check, why), flush=True)
    sys.exit(1)


def ok(check):
    print("ok " + check, flush=True)


def same(a, b):
    # Equality that also compares types, nested, so that 1 != True != 1.0.
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a.keys()) == list(b.keys()) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and a != a:
        return b != b
    return a == b


ROUND_TRIP = [
    None, True, False, 0, -1, 255, 2**31 - 1, -(2**31), 2**31, 2**63, -(2**31) + 1,
    10**40, 1.5, -0.0, float("inf"), 1 - 2j, b"", b"ab\x00\xff", "", "hi",
    "\u00e9", "\U0001f600", (), (1,), (1, "a", None), [], [None], [1, [2, [3]]],
    {}, {"a": 1}, {1: [2]}, {(1, 2): {"x": b"y"}}, set(), {5}, frozenset({7}),
    {"k": ({1, 2}, frozenset(), [1.25])},
]

# Wire bytes (no version byte) with a fixed encoding; sets of one element
# only, as larger sets have no fixed order.
DUMPS = [
    None, True, 0, -1, 2**31, 1.5, 1 - 2j, b"ab\x00", "\u00e9", (1, 2), [1, "a"],
    {"a": 1}, {1: [2]}, {5}, frozenset({7}),
]

# Inputs for conform_loads with the spec error class every implementation
# must report. Only cases whose class Python execnet can tell apart are
# listed here.
LOADS_ERRORS = [
    ("4e0000000561", "Truncated"),       # string cut short, no STOP
    ("5a", "UnknownOpcode"),             # 'Z'
    ("46000000", "Truncated"),           # int32 cut short
    ("", "Truncated"),                   # nothing at all
    ("4c4c51", "StopStack"),             # STOP with two items
    ("4c4c50", "StackUnderflow"),        # SETITEM with two items
    ("48000000027a7a51", "BadInteger"),  # LONGINT "zz"
    ("4e00000001ff51", "BadUTF8"),       # invalid UTF-8
    ("4a4b000000004c5051", "Unhashable"),  # {[]: None}
    ("4b00000001460000000546000000015051", "IndexRange"),  # [None][5] = 1
    ("400000000046000000014c5051", "NotContainer"),  # ()[1] = None
    ("420000000151", "ChannelNotAllowed"),
]

def main():
    profile_path, xspec, expected_impl = sys.argv[1:4]
    procs = {}
    with open(profile_path) as f:
        exec(compile(f.read(), profile_path, "exec"), procs)

    gw = execnet.makegateway(xspec)
    try:
        run(gw, procs, expected_impl)
    finally:
        gw.exit()
    print("done", flush=True)


def run(gw, procs, expected_impl):
    ch = gw.remote_exec(procs["conform_info"])
    info = ch.receive(TIMEOUT)
    ch.waitclose(TIMEOUT)
    if not isinstance(info, dict) or info.get("implementation") != expected_impl:
        fail("info", "got %r" % (info,))
    if info.get("spec") != "1.0-draft" or not isinstance(info.get("version"), str):
        fail("info", "got %r" % (info,))
    if not isinstance(info.get("language"), str):
        fail("info", "got %r" % (info,))
    ok("info")

    ch = gw.remote_exec(procs["conform_echo"])
    for value in ROUND_TRIP:
        ch.send(value)
        got = ch.receive(TIMEOUT)
        if not same(got, value):
            fail("echo", "sent %r, got %r" % (value, got))
    nan = ch.send(float("nan")) or ch.receive(TIMEOUT)
    if nan == nan:
        fail("echo", "nan came back as %r" % (nan,))
    # A channel inside data comes back as the same channel.
    mine = gw.newchannel()
    ch.send([mine, "tag"])
    got = ch.receive(TIMEOUT)
    if not isinstance(got, list) or got[0] is not mine or got[1] != "tag":
        fail("echo", "channel %r came back as %r" % (mine, got))
    mine.close()
    ch.close()
    ch.waitclose(TIMEOUT)
    ok("echo")

    ch = gw.remote_exec(procs["conform_fail"], message="boom \u00e9")
    try:
        got = ch.receive(TIMEOUT)
        fail("fail", "received %r instead of an error" % (got,))
    except execnet.RemoteError as e:
        lines = [l for l in str(e).splitlines() if l.strip()]
        if not lines or lines[-1] != "RuntimeError: boom \u00e9":
            fail("fail", "error text %r" % (str(e),))
    ok("fail")

    for count, size in [(0, 10), (3, 0), (5, 1000), (2, 70000)]:
        ch = gw.remote_exec(procs["conform_stream"], count=count, size=size)
        items = list(ch)
        want = bytes(i % 251 for i in range(size))
        if len(items) != count or any(it != want for it in items):
            fail("stream", "count=%d size=%d: got %d items" % (count, size, len(items)))
    ok("stream")

    ch = gw.remote_exec(procs["conform_newchannel"])
    other = ch.receive(TIMEOUT)
    if not isinstance(other, gateway_base.Channel):
        fail("newchannel", "got %r" % (other,))
    if other.id % 2 != 0:
        fail("newchannel", "worker channel id %d is not even" % other.id)
    for value in [1, "two", [3]]:
        other.send(value)
        got = other.receive(TIMEOUT)
        if not same(got, value):
            fail("newchannel", "sent %r, got %r" % (value, got))
    other.close()
    ch.waitclose(TIMEOUT)
    ok("newchannel")

    ch = gw.remote_exec(procs["conform_dumps"])
    for value in DUMPS:
        ch.send(value)
        got = ch.receive(TIMEOUT)
        want = gateway_base.dumps_internal(value)
        if got != want:
            fail("dumps", "%r: got %s, want %s" % (value, got.hex(), want.hex()))
    ch.close()
    ch.waitclose(TIMEOUT)
    ok("dumps")

    ch = gw.remote_exec(procs["conform_loads"])
    for value in ROUND_TRIP:
        ch.send(gateway_base.dumps_internal(value))
        got = ch.receive(TIMEOUT)
        if not same(got, value):
            fail("loads", "%r came back as %r" % (value, got))
    ch.close()
    ch.waitclose(TIMEOUT)
    for hexdata, cls in LOADS_ERRORS:
        ch = gw.remote_exec(procs["conform_loads"])
        ch.send(bytes.fromhex(hexdata))
        try:
            got = ch.receive(TIMEOUT)
            fail("loads", "%s decoded to %r, want an error" % (hexdata, got))
        except execnet.RemoteError as e:
            text = str(e)
            head = text.split(":", 1)[0]
            if cls is not None and head != cls:
                fail("loads", "%s: error %r, want class %s" % (hexdata, text, cls))
            if cls is None and head == "Unknown":
                fail("loads", "%s: unclassified error %r" % (hexdata, text))
    # The channel's strconfig decides what PY2STRING decodes to; the
    # RECONFIGURE arrives after the execution started.
    for cfg, want in [((False, False), b"hi"), ((True, False), "hi")]:
        ch = gw.remote_exec(procs["conform_loads"])
        ch.reconfigure(*cfg)
        ch.send(bytes.fromhex("4d00000002686951"))
        got = ch.receive(TIMEOUT)
        if not same(got, want):
            fail("loads", "PY2STRING with strconfig %r: got %r, want %r" % (cfg, got, want))
        ch.close()
        ch.waitclose(TIMEOUT)
    ok("loads")

    # Missing, unknown and ill-typed keyword arguments end the procedure
    # with an error (CONF-CALL-3).
    for proc, kwargs in [
        ("conform_stream", {"count": "3", "size": 1}),
        ("conform_stream", {"count": True, "size": 1}),
        ("conform_stream", {"count": 2.5, "size": 1}),
        ("conform_stream", {"count": 1}),
        ("conform_echo", {"extra": 1}),
        ("conform_fail", {"message": 5}),
        ("conform_sleep", {"seconds": "1"}),
        ("conform_sleep", {"seconds": -1}),
    ]:
        ch = gw.remote_exec(procs[proc], **kwargs)
        try:
            got = ch.receive(TIMEOUT)
            fail("kwargs", "%s(**%r) sent %r" % (proc, kwargs, got))
        except execnet.RemoteError:
            pass
    ok("kwargs")

    ch = gw.remote_exec(procs["conform_sleep"], seconds=0.05)
    ch.waitclose(TIMEOUT)
    ok("sleep")

    # The worker's gateway id: for popen and ssh the master's gateway id
    # plus "-worker" (execnet's bootstrap passes it to serve()). A socket
    # worker's id is built from the xspec text, which a worker that does
    # not run Python need not find (SPEC.md BOOT-ID-2): text is enough.
    ch = gw.remote_exec(procs["conform_gateway_id"])
    got = ch.receive(TIMEOUT)
    ch.waitclose(TIMEOUT)
    want = gw.id + "-worker"
    if getattr(gw.spec, "socket", None):
        if not isinstance(got, str):
            fail("gatewayid", "got %r, want text" % (got,))
    elif not same(got, want):
        fail("gatewayid", "got %r, want %r" % (got, want))
    ok("gatewayid")


if __name__ == "__main__":
    main()
