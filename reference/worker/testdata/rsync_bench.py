"""Times execnet's RSync from this Python master.

Usage: python3 rsync_bench.py SRC DEST PYTHON_SPEC_OR_GO N

Copies SRC to a fresh DEST N times on one gateway (opened from the xspec
given) and prints "seconds S" with the total time of the copies alone.
"""

import os
import shutil
import sys
import time

import execnet

src, dest, spec, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
gw = execnet.makegateway(spec)
total = 0.0
for i in range(n):
    if os.path.exists(dest):
        shutil.rmtree(dest)
    rs = execnet.RSync(src, verbose=False)
    rs.add_target(gw, dest)
    t0 = time.perf_counter()
    rs.send()
    total += time.perf_counter() - t0
gw.exit()
print("seconds %.6f" % total)
