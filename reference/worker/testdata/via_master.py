"""A Python execnet master that uses the Go worker as a via hop.

Usage: python3 via_master.py GO_WORKER_COMMAND

Opens the Go worker as gateway "hop", then Python workers through it
(popen//via=hop), and checks that they behave like any other gateway.
Prints "ok NAME" per passed check and "done" at the end; any failure
raises, so the exit status is not 0.
"""

import os
import sys
import time

import execnet

worker = sys.argv[1]


def ok(name):
    print("ok " + name)
    sys.stdout.flush()


def wait_gone(pid):
    """Waits until process pid no longer exists (reaped), at most 30 s."""
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.2)
    raise AssertionError("process %d still exists" % pid)


group = execnet.Group()
hop = group.makegateway("popen//id=hop//python=" + worker)
sub = group.makegateway("popen//id=sub//via=hop")

# remote execution of Python source in the sub, through the Go hop
ch = sub.remote_exec("import os; channel.send(os.getpid())")
subpid = ch.receive(timeout=30)
assert isinstance(subpid, int) and subpid != os.getpid(), subpid
ok("exec")

# a channel carrying many items both ways, including large ones
ch = sub.remote_exec(
    "for item in channel:\n"
    "    channel.send(item)\n"
)
items = [1, "text", b"\x00\xff" * 100000, [1, (2, 3)], {"k": None}, 2**70]
for it in items:
    ch.send(it)
for it in items:
    got = ch.receive(timeout=30)
    assert got == it, (got, it)
ch.close()
ch.waitclose(timeout=30)
ok("echo")

# a remote error comes back as such
ch = sub.remote_exec("raise ValueError('boom')")
try:
    ch.receive(timeout=30)
except ch.RemoteError as e:
    assert "boom" in str(e), str(e)
    ok("remote-error")

# channels opened by the sub, and a callback on the master
ch = sub.remote_exec(
    "c = channel.gateway.newchannel()\n"
    "channel.send(c)\n"
    "c.send(42)\n"
    "c.close()\n"
)
c = ch.receive(timeout=30)
got = []
c.setcallback(got.append)
c.waitclose(timeout=30)
assert got == [42], got
ok("newchannel")

# chdir/env of the xspec are applied after the bootstrap through the hop
sub2 = group.makegateway("popen//id=sub2//via=hop//env:VIA_TEST=yes")
v = sub2.remote_exec(
    "import os; channel.send(os.environ.get('VIA_TEST'))"
).receive(timeout=30)
assert v == "yes", v
ok("env")

# two subs through one hop at once
a = sub.remote_exec("channel.send(channel.receive() * 2)")
b = sub2.remote_exec("channel.send(channel.receive() * 3)")
a.send(5)
b.send(5)
assert (a.receive(timeout=30), b.receive(timeout=30)) == (10, 15)
ok("two-subs")

# a Go worker as the sub too (it runs the profile procedures only)
sub3 = group.makegateway("popen//id=sub3//via=hop//python=" + worker)
st = sub3.remote_status()
assert st.numexecuting == 0, st
try:
    sub3.remote_exec("channel.send(1)").receive(timeout=30)
except execnet.RemoteError as e:
    # The Go worker refuses Python source: the sub is really the Go worker.
    assert "execnet-conform-go" in str(e), str(e)
else:
    raise AssertionError("the sub ran Python source: not the Go worker")
ok("go-sub")

# ending one sub: exit, then the hop answers close_write and wait
sub2.exit()
sub2.join(timeout=30)
code = sub2._io.wait()
assert code == 0, code
ok("sub-exit")

# an orderly end of the whole group: subs first, then the hop
group.terminate(timeout=30)
wait_gone(subpid)
ok("terminate")

# ending the hop ends what it carries
group = execnet.Group()
hop = group.makegateway("popen//id=hop//python=" + worker)
sub = group.makegateway("popen//id=sub//via=hop")
subpid = sub.remote_exec("import os; channel.send(os.getpid())").receive(timeout=30)
hop.exit()
hop.join(timeout=30)
deadline = time.time() + 30
while time.time() < deadline:
    try:
        sub.remote_exec("channel.send(1)").receive(timeout=5)
    except Exception:
        break
    time.sleep(0.2)
else:
    raise AssertionError("the sub still answers after its hop ended")
ok("hop-ends-subs")
wait_gone(subpid)
ok("sub-reaped")

print("done")
sys.stdout.flush()
# The group still holds the sub, whose control channel died with the hop:
# execnet's own terminate would fail on it, so leave without it.
os._exit(0)
