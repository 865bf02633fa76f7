# A Python execnet master session through a tapped worker: usage that
# covers every message code except the ones only a broken peer sends.
# usage: session.py XSPEC  (prints one line per step, then "done")
import sys

import execnet

gw = execnet.makegateway(sys.argv[1])

ch = gw.remote_exec(
    "for x in channel:\n"
    "    channel.send(x)\n"
)
for v in [1, -5, 2**40, 2**70, 1.5, "héllo", b"\x00\xff", None, True, (1, [2, {3: 4}]), {"k": frozenset([1])}, set([2])]:
    ch.send(v)
    print("echo", repr(ch.receive()))
ch.close()
ch.waitclose(10)

# A channel created by the worker and sent in data.
ch = gw.remote_exec(
    "sub = channel.gateway.newchannel()\n"
    "channel.send(sub)\n"
    "sub.send('on sub')\n"
    "sub.close()\n"
)
sub = ch.receive()
print("sub", sub.receive())
sub.waitclose(10)
ch.waitclose(10)

# A channel the master creates and hands over.
mine = gw.newchannel()
ch = gw.remote_exec("c = channel.receive()\nc.send(c.receive() * 2)\n")
ch.send(mine)
mine.send(21)
print("mine", mine.receive())
ch.waitclose(10)

# An error in the execution.
ch = gw.remote_exec("raise ValueError('boom')")
try:
    ch.waitclose(10)
except execnet.RemoteError as e:
    print("error", "ValueError" in str(e))

# STATUS, RECONFIGURE and a callback with CHANNEL_LAST_MESSAGE.
print("status", gw.remote_status().numexecuting >= 0)
ch = gw.remote_exec("channel.send(channel.receive())")
ch.reconfigure(py2str_as_py3str=False, py3str_as_py2str=False)
ch.send("x")
print("reconf", repr(ch.receive()))
ch.waitclose(10)

got = []
ch = gw.remote_exec("for i in range(3): channel.send(i)")
ch.setcallback(got.append, endmarker=None)
ch.waitclose(10)
import time
for _ in range(100):
    if None in got:
        break
    time.sleep(0.05)
print("callback", got)

# Much data.
ch = gw.remote_exec("channel.send(b'x' * channel.receive())")
ch.send(1 << 20)
print("bulk", len(ch.receive()))
ch.waitclose(10)

gw.exit()
print("done")
