# A Python execnet master session that touches two wire behaviours that
# changed between execnet 1.9 and 2.1: the string configuration of a
# channel (py3str_as_py2str, DEV-9, changed in 2.0) and a
# CHANNEL_CLOSE_ERROR whose payload is not text (accepted by 1.9, fatal to
# the worker from 2.1 on). usage: changes.py XSPEC
import sys

import execnet

gw = execnet.makegateway(sys.argv[1])

ch = gw.remote_exec("for x in channel:\n    channel.send(x)\n")
ch.reconfigure(py2str_as_py3str=False, py3str_as_py2str=True)
ch.send("hé")
print("reconfigured echo", repr(ch.receive(10)))
ch.close()
ch.waitclose(10)

ch = gw.remote_exec("for x in channel:\n    channel.send(x)\n")
ch.send(1)
print("echo", ch.receive(10))
# A non-text error: execnet's Channel.close sends whatever it is given.
ch.close(error=("not", "text"))
try:
    print("status", gw.remote_status().numexecuting >= 0)
except Exception as e:
    print("status failed:", type(e).__name__)
try:
    gw.exit()
except Exception:
    pass
print("done")
