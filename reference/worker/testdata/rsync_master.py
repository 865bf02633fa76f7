"""A Python execnet master copying a tree with execnet's RSync to the Go
worker and to a Python worker at once.

Usage: python3 rsync_master.py GO_WORKER_COMMAND WORKDIR

Prints "ok NAME" per passed check and "done" at the end; any failure
raises, so the exit status is not 0.
"""

import os
import stat
import sys

import execnet

worker, work = sys.argv[1], sys.argv[2]
src = os.path.join(work, "src")
dst_go = os.path.join(work, "dst-go")
dst_py = os.path.join(work, "dst-py")


def ok(name):
    print("ok " + name)
    sys.stdout.flush()


def write(rel, data, mode=0o644):
    p = os.path.join(src, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, mode)


for i in range(300):
    write("small/d%d/f%03d.txt" % (i % 7, i), b"file %d\n" % i * (i % 5 + 1))
write("big.bin", os.urandom(3 << 20))
write("empty", b"")
write("bin/tool", b"#!/bin/sh\necho hi\n", 0o755)
write("readonly.txt", b"do not touch\n", 0o444)
os.symlink("big.bin", os.path.join(src, "link-rel"))
os.symlink(os.path.join(src, "bin", "tool"), os.path.join(src, "link-inside"))
os.symlink("/etc/hostname", os.path.join(src, "link-outside"))
os.makedirs(os.path.join(src, "ro-dir"))
write("ro-dir/inner", b"inner\n")
os.chmod(os.path.join(src, "ro-dir"), 0o555)


def snapshot(root, dest_prefix):
    """Maps each relative path to (kind, mode, content or link text)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                t = os.readlink(p)
                if t.startswith(dest_prefix):
                    t = "<root>" + t[len(dest_prefix):]
                out[rel] = ("link", None, t)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", st.st_mode, None)
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", st.st_mode, f.read(), st.st_mtime)
    return out


group = execnet.Group()
gw_go = group.makegateway("popen//id=go//python=" + worker)
gw_py = group.makegateway("popen//id=py")

events = []
rs = execnet.RSync(src, callback=lambda kind, n, ch: events.append((kind, n, ch.gateway.id)), verbose=False)
finished = []
rs.add_target(gw_go, dst_go, finishedcallback=lambda: finished.append("go"))
# execnet 1.9.0's receiver makes ro-dir read-only before writing into it,
# which only root survives.
py_target = os.geteuid() == 0 or not execnet.__version__.startswith("1.")
if py_target:
    rs.add_target(gw_py, dst_py, finishedcallback=lambda: finished.append("py"))
else:
    finished.append("py")
rs.send()
assert sorted(finished) == ["go", "py"], finished
ok("send")

want = snapshot(src, src)
got = snapshot(dst_go, dst_go)
assert sorted(got) == sorted(want), (sorted(set(want) ^ set(got)))[:10]
for rel in want:
    assert got[rel] == want[rel], (rel, str(got[rel])[:80], str(want[rel])[:80])
ok("identical")

# the Python receiver gets the same files (its directory modes differ by
# release: 2.0.2 on add 0o700)
if py_target:
    got_py = snapshot(dst_py, dst_py)
    assert sorted(got_py) == sorted(want)
    for rel in want:
        if want[rel][0] != "dir":
            assert got_py[rel] == want[rel], rel
ok("python-target")

acks_go = [e for e in events if e[0] == "ack" and e[2] == "go"]
assert len(acks_go) == len([r for r in want if want[r][0] == "file"]), len(acks_go)
lists = dict((e[2], e[1]) for e in events if e[0] == "list")
assert lists["go"] == sum(len(w[2]) for w in want.values() if w[0] == "file"), lists
ok("callbacks")

# a second copy sends only what changed and deletes what is extra
os.chmod(os.path.join(dst_go, "small"), 0o755)
with open(os.path.join(dst_go, "small", "extra"), "wb") as f:
    f.write(b"extra")
os.makedirs(os.path.join(dst_go, "extra-dir", "x"))
write("small/d0/f000.txt", b"changed content\n")
events[:] = []
rs = execnet.RSync(src, callback=lambda kind, n, ch: events.append((kind, n, ch.gateway.id)), verbose=False)
rs.add_target(gw_go, dst_go, delete=True)
rs.send()
assert not os.path.exists(os.path.join(dst_go, "small", "extra"))
assert not os.path.exists(os.path.join(dst_go, "extra-dir"))
acks = [e for e in events if e[0] == "ack"]
assert len(acks) == 1 and acks[0][1] == len(b"changed content\n"), acks
want = snapshot(src, src)
got = snapshot(dst_go, dst_go)
assert got == want, sorted(set(want) ^ set(got))
ok("update-delete")

group.terminate(timeout=30)
print("done")
