"""Gateway-level scenarios against a worker, driven by real execnet.

usage: PYTHON scenarios.py PROFILE_PY XSPEC [SCENARIO ...]

Runs each named scenario (all when none are named) against gateways made
with execnet.makegateway(XSPEC). Prints "ok <scenario>" per success and
exits 1 with "FAIL <scenario>: <why>" on the first failure.
"""
import sys
import threading
import time

import execnet

TIMEOUT = 20.0


def fail(name, why):
    print("FAIL %s: %s" % (name, why), flush=True)
    sys.exit(1)


def wait_exit(popen, bound=TIMEOUT):
    deadline = time.monotonic() + bound
    while popen.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return popen.poll()


def concurrent(procs, xspec):
    # Eight echo channels driven from eight threads at once.
    gw = execnet.makegateway(xspec)
    errors = []

    def drive(k):
        try:
            ch = gw.remote_exec(procs["conform_echo"])
            for i in range(200):
                value = (k, i, "x" * (i % 7), [k] * (i % 3))
                ch.send(value)
                got = ch.receive(TIMEOUT)
                if got != value:
                    errors.append("channel %d: sent %r, got %r" % (k, value, got))
                    return
            ch.close()
            ch.waitclose(TIMEOUT)
        except Exception as e:  # reported below
            errors.append("channel %d: %r" % (k, e))

    threads = [threading.Thread(target=drive, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 2)
    gw.exit()
    if errors:
        fail("concurrent", "; ".join(errors))


def callbacks(procs, xspec):
    # Items arrive through a callback, then the end marker, in order.
    gw = execnet.makegateway(xspec)
    got = []
    done = threading.Event()

    def cb(item):
        got.append(item)
        if item == "END":
            done.set()

    ch = gw.remote_exec(procs["conform_stream"], count=50, size=3)
    ch.setcallback(cb, endmarker="END")
    if not done.wait(TIMEOUT):
        fail("callbacks", "no end marker; got %d items" % len(got))
    if got != [bytes([0, 1, 2])] * 50 + ["END"]:
        fail("callbacks", "got %r" % (got,))
    # An echo channel with a callback: replies come back through it.
    replies = []
    ended = threading.Event()

    def cb2(item):
        replies.append(item)
        if item is None:
            ended.set()

    ch = gw.remote_exec(procs["conform_echo"])
    ch.setcallback(cb2, endmarker=None)
    for i in range(20):
        ch.send(i)
    deadline = time.monotonic() + TIMEOUT
    while len(replies) < 20 and time.monotonic() < deadline:
        time.sleep(0.005)
    if replies[:20] != list(range(20)):
        fail("callbacks", "echo replies %r" % (replies,))
    gw.exit()
    if not ended.wait(TIMEOUT):
        fail("callbacks", "no end marker after exit")


def status(procs, xspec):
    gw = execnet.makegateway(xspec)
    st = gw.remote_status()
    if st.numchannels != 0 or st.numexecuting != 0:
        fail("status", "idle status %r" % (st,))
    ch = gw.remote_exec(procs["conform_echo"])
    ch.send(1)
    ch.receive(TIMEOUT)
    st = gw.remote_status()
    if st.numexecuting != 1 or st.numchannels < 1:
        fail("status", "status while executing %r" % (st,))
    ch.close()
    ch.waitclose(TIMEOUT)
    gw.exit()


def exit_ends_process(procs, xspec):
    gw = execnet.makegateway(xspec)
    popen = gw._io.popen
    ch = gw.remote_exec(procs["conform_echo"])
    ch.send("x")
    ch.receive(TIMEOUT)
    gw.exit()
    rc = wait_exit(popen)
    if rc != 0:
        fail("exit", "worker pid %d after exit(): returncode %r" % (popen.pid, rc))


def group(procs, xspec):
    # Twelve workers, all terminated together.
    grp = execnet.Group()
    gws = [grp.makegateway(xspec) for _ in range(12)]
    chans = [gw.remote_exec(procs["conform_echo"]) for gw in gws]
    for i, ch in enumerate(chans):
        ch.send(i)
    for i, ch in enumerate(chans):
        if ch.receive(TIMEOUT) != i:
            fail("group", "echo on gateway %d" % i)
    popens = [gw._io.popen for gw in gws]
    grp.terminate(timeout=10.0)
    rcs = [wait_exit(p) for p in popens]
    if any(rc != 0 for rc in rcs):
        fail("group", "return codes after terminate: %r" % (rcs,))
    if len(grp) != 0:
        fail("group", "%d gateways left in the group" % len(grp))


def source_only(procs, xspec):
    # Plain source, and a function the Go worker does not know, fail fast
    # with a RemoteError that names the limitation.
    def not_in_profile(channel):
        channel.send(1)

    gw = execnet.makegateway(xspec)
    for what, ch in [
        ("source", gw.remote_exec("channel.send(42)")),
        ("function", gw.remote_exec(not_in_profile)),
    ]:
        try:
            got = ch.receive(TIMEOUT)
            fail("source_only", "%s: received %r" % (what, got))
        except execnet.RemoteError as e:
            text = str(e)
            if "cannot execute Python source" not in text or "conform_echo" not in text:
                fail("source_only", "%s: error text %r" % (what, text))
    # The gateway still works afterwards.
    ch = gw.remote_exec(procs["conform_echo"])
    ch.send("still")
    if ch.receive(TIMEOUT) != "still":
        fail("source_only", "echo after the refusals")
    gw.exit()


def stdio(procs, xspec):
    # The worker keeps the protocol off descriptors 0 and 1, which point at
    # the null device, and leaves descriptor 2 alone (Linux /proc only).
    import os

    gw = execnet.makegateway(xspec)
    pid = gw._io.popen.pid
    ch = gw.remote_exec(procs["conform_echo"])
    ch.send(1)
    ch.receive(TIMEOUT)
    fds = {fd: os.readlink("/proc/%d/fd/%d" % (pid, fd)) for fd in (0, 1, 2)}
    ch.close()
    gw.exit()
    if fds[0] != os.devnull or fds[1] != os.devnull:
        fail("stdio", "descriptors 0 and 1 of the worker: %r" % (fds,))
    if fds[2] == os.devnull:
        fail("stdio", "descriptor 2 points at the null device: %r" % (fds,))


SCENARIOS = {
    "stdio": stdio,
    "concurrent": concurrent,
    "callbacks": callbacks,
    "status": status,
    "exit": exit_ends_process,
    "group": group,
    "source_only": source_only,
}


def main():
    profile_path, xspec = sys.argv[1:3]
    names = sys.argv[3:] or list(SCENARIOS)
    procs = {}
    with open(profile_path) as f:
        exec(compile(f.read(), profile_path, "exec"), procs)
    for name in names:
        SCENARIOS[name](procs, xspec)
        print("ok " + name, flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
