"""Time Python execnet's wire serializer on the benchmark values.

Reads JSON from stdin: {"values": [{"name": ..., "hex": wire hex}], "budget": seconds}.
Each value is first decoded with execnet's own loader, then dumps and
loads are timed in loops sized to fill the budget, repeated five times;
the median per-call time is reported. Writes JSON to stdout:
{"implementation": ..., "results": [{"name", "bytes", "dumps_ns", "loads_ns"}]}.
"""
import json
import platform
import sys
import time

from execnet import gateway_base as gb


def per_call(fn, arg, budget):
    # calibrate a loop count that takes about budget/5
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn(arg)
        dt = time.perf_counter() - t0
        if dt >= budget / 25 or n >= 1 << 24:
            break
        n *= 4
    loops = max(1, int(n * (budget / 5) / max(dt, 1e-9)))
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn(arg)
        samples.append((time.perf_counter() - t0) / loops)
    samples.sort()
    return samples[2] * 1e9


def main():
    req = json.load(sys.stdin)
    budget = float(req.get("budget", 1.0))
    out = []
    for v in req["values"]:
        data = bytes.fromhex(v["hex"])
        value = gb.loads_internal(data)
        again = gb.dumps_internal(value)
        if again != data:
            sys.stderr.write("warning: %s re-encodes differently\n" % v["name"])
        out.append({
            "name": v["name"],
            "bytes": len(data),
            "dumps_ns": per_call(gb.dumps_internal, value, budget),
            "loads_ns": per_call(gb.loads_internal, data, budget),
        })
    impl = "%s %s" % (platform.python_implementation(), platform.python_version())
    json.dump({"implementation": impl, "results": out}, sys.stdout)


main()
