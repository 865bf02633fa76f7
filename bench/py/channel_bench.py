"""Channel benchmarks with a Python execnet master.

Reads JSON from stdin:
  {"spec": xspec of the worker, "profile_path": path of profile.py,
   "startups": n, "roundtrips": n, "oneway": {"count": n, "size": s},
   "bulk": [{"size": s, "bytes": total}], "groups": [1, 8, 32],
   "repeats": n}
and writes JSON with the measured figures. Work is driven only through the
conformance profile procedures (conform_echo, conform_stream), so the same
script measures Python workers and the Go worker alike.
"""
import json
import sys
import time

import execnet


def load_profile(path):
    # execnet's remote_exec(function) reads the function's source with
    # inspect, so the profile must come from a real file.
    import importlib.util

    spec = importlib.util.spec_from_file_location("conform_profile", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return vars(mod)


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median(xs):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[len(xs) // 2]


def pct(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def main():
    req = json.load(sys.stdin)
    prof = load_profile(req["profile_path"])
    echo, stream = prof["conform_echo"], prof["conform_stream"]
    spec = req["spec"]
    reps = max(1, req.get("repeats", 3))
    out = {"implementation": "python-execnet %s" % execnet.__version__}

    # start-up: open a gateway up to the first round trip
    lat = []
    for _ in range(req.get("startups", 10)):
        t0 = time.perf_counter()
        gw = execnet.makegateway(spec)
        ch = gw.remote_exec(echo)
        ch.send(1)
        ch.receive()
        lat.append(time.perf_counter() - t0)
        ch.close()
        gw.exit()
    out["startup_s"] = {"median": median(lat), "p95": pct(lat, 0.95), "samples": lat}

    groups = {}
    for n in req.get("groups") or []:
        samples = []
        # as GroupSamples in channel.go: more samples for small groups
        for _ in range(reps * max(1, 8 // max(1, n))):
            t0 = time.perf_counter()
            g = execnet.Group()
            for _ in range(n):
                g.makegateway(spec)
            chans = [gw.remote_exec(echo) for gw in g]
            for c in chans:
                c.send(1)
            for c in chans:
                c.receive()
            samples.append(time.perf_counter() - t0)
            g.terminate(timeout=10)
        groups[str(n)] = {"median": median(samples), "samples": samples}
    out["group_s"] = groups

    gw = execnet.makegateway(spec)
    try:
        # round trips and sequential remote executions in turns, a sample
        # of each per repeat, as GoMaster: the first turn warms up
        n = req.get("roundtrips", 2000)
        ne = req.get("execs", 0)

        def roundtrips():
            ch = gw.remote_exec(echo)

            def run():
                for i in range(n):
                    ch.send(i)
                    ch.receive()
            rate = n / timed(run)
            ch.close()
            ch.waitclose(30)
            return rate

        def execs():
            def run():
                for i in range(ne):
                    ch = gw.remote_exec(echo)
                    ch.send(i)
                    ch.receive()
                    ch.close()
                    ch.waitclose(30)
            return ne / timed(run)

        rts, exs = [], []
        for r in range(reps + 1):
            rt = roundtrips()
            ex = execs() if ne else 0
            if r:
                rts.append(rt)
                if ne:
                    exs.append(ex)
        out["roundtrips_per_s"] = {"median": median(rts), "samples": rts}
        out["execs_per_s"] = {"median": median(exs), "samples": exs}

        ow = req.get("oneway", {"count": 20000, "size": 16})
        samples = []
        for _ in range(reps):
            def run():
                ch = gw.remote_exec(stream, count=ow["count"], size=ow["size"])
                for _ in range(ow["count"]):
                    ch.receive()
                ch.waitclose(30)
            samples.append(ow["count"] / timed(run))
        out["oneway_per_s"] = {"median": median(samples), "samples": samples}

        bulk = {}
        for b in req.get("bulk") or []:
            count = max(1, b["bytes"] // b["size"])
            samples = []
            for _ in range(reps):
                def run():
                    ch = gw.remote_exec(stream, count=count, size=b["size"])
                    for _ in range(count):
                        ch.receive()
                    ch.waitclose(60)
                samples.append(count * b["size"] / timed(run) / (1 << 20))
            bulk[str(b["size"])] = {"median": median(samples), "samples": samples}
        out["bulk_mib_per_s"] = bulk
    finally:
        gw.exit()
    json.dump(out, sys.stdout)


main()
