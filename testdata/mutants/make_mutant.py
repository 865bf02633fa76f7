#!/usr/bin/python3
"""Build a deliberately broken copy of Python execnet for mutation testing.

The conformance suite must notice when an implementation breaks a protocol
rule. This script copies an installed execnet package into a directory of
your choice and breaks exactly ONE rule, chosen by name, by small textual
substitutions in the copy. Nothing of execnet is stored in this repository:
the copy is made at run time from the local installation.

Usage:
    make_mutant.py --list
    make_mutant.py [--source DIR] NAME DEST

DEST receives DEST/execnet/...; put DEST first on PYTHONPATH so that an
import-style worker ("from execnet.gateway_base import serve ...") loads the
mutant. The script prints DEST on success. It fails (exit status 1) when a
substitution does not match exactly once, so a changed execnet is noticed
instead of silently yielding an unbroken "mutant".
"""

import argparse
import os
import shutil
import sys

DEFAULT_SOURCE = "/usr/lib/python3/dist-packages/execnet"

# name -> (description, file inside the package, [(old, new), ...])
# Each `old` must occur exactly once in the file.
MUTANTS = {
    "float-little-endian": (
        "the encoder writes FLOAT operands in little-endian byte order",
        "gateway_base.py",
        [
            (
                "self._write(struct.pack(FLOAT_FORMAT, flt))",
                'self._write(struct.pack("<d", flt))',
            )
        ],
    ),
    "bytes-as-text": (
        "the encoder writes bytes values with the PY3STRING opcode",
        "gateway_base.py",
        [
            (
                "    def save_bytes(self, bytes_):\n        self._write(opcode.BYTES)",
                "    def save_bytes(self, bytes_):\n        self._write(opcode.PY3STRING)",
            )
        ],
    ),
    "error-as-close": (
        "a failing execution ends its channel with plain CHANNEL_CLOSE",
        "gateway_base.py",
        [
            (
                "                    channel.close(errortext)\n                    return",
                "                    channel.close()\n                    return",
            )
        ],
    ),
    "terminate-ignored": (
        "the worker ignores GATEWAY_TERMINATE and keeps serving",
        "gateway_base.py",
        [
            (
                "        raise GatewayReceivedTerminate(gateway)",
                "        return None  # mutant: terminate ignored",
            )
        ],
    ),
    "status-unanswered": (
        "the worker never answers STATUS",
        "gateway_base.py",
        [
            (
                "    def status(message, gateway):\n",
                "    def status(message, gateway):\n"
                "        return None  # mutant: no reply\n",
            )
        ],
    ),
    "odd-channel-ids": (
        "the worker allocates odd channel ids (3, 5, ...) like a master",
        "gateway_base.py",
        [
            (
                "WorkerGateway(io=io, id=id, _startcount=2).serve()",
                "WorkerGateway(io=io, id=id, _startcount=3).serve()",
            )
        ],
    ),
    "reconfigure-retroactive": (
        "a gateway RECONFIGURE also changes the strconfig of existing channels",
        "gateway_base.py",
        [
            (
                "        target._strconfig = loads_internal(message.data, gateway)\n",
                "        target._strconfig = loads_internal(message.data, gateway)\n"
                "        if message.channelid == 0:  # mutant: retroactive\n"
                "            for _c in list(gateway._channelfactory._channels.values()):\n"
                "                _c._strconfig = target._strconfig\n",
            )
        ],
    ),
    "last-message-ignored": (
        "CHANNEL_LAST_MESSAGE does not end the channel's input",
        "gateway_base.py",
        [
            (
                "        gateway._channelfactory._local_close(message.channelid, sendonly=True)",
                "        pass  # mutant: LAST_MESSAGE ignored",
            )
        ],
    ),
    "failed-exec-still-counted": (
        "an execution that raised stays counted as running (STATUS, end at EOF)",
        "gateway_base.py",
        [
            (
                "                    channel.close(errortext)\n                    return",
                "                    channel.close(errortext)\n"
                "                    self._execpool._running.add(object())  # mutant\n"
                "                    return",
            )
        ],
    ),
    "close-error-unknown-lenient": (
        "an undecodable CHANNEL_CLOSE_ERROR for an unknown id is ignored, not fatal",
        "gateway_base.py",
        [
            (
                "        remote_error = RemoteError(loads_internal(message.data))\n",
                "        if message.channelid not in gateway._channelfactory._channels:\n"
                "            return  # mutant: not fatal for unknown ids\n"
                "        remote_error = RemoteError(loads_internal(message.data))\n",
            )
        ],
    ),
    "partial-read-counts": (
        "end of stream inside a frame hands on the bytes read so far as the frame",
        "gateway_base.py",
        [
            (
                '            if not data:\n                raise EOFError("expected %d bytes, got %d" % (numbytes, len(buf)))',
                "            if not data:\n"
                "                if buf:\n"
                "                    return buf  # mutant: a partial read counts\n"
                '                raise EOFError("expected %d bytes, got %d" % (numbytes, len(buf)))',
            )
        ],
    ),
    "terminate-answered": (
        "the worker answers GATEWAY_TERMINATE with a frame before it ends",
        "gateway_base.py",
        [
            (
                "        raise GatewayReceivedTerminate(gateway)",
                "        gateway._send(Message.CHANNEL_CLOSE, 0)  # mutant: a reply\n"
                "        raise GatewayReceivedTerminate(gateway)",
            )
        ],
    ),
}


class MutantError(Exception):
    """A mutant could not be built."""


def build(name, dest, source=DEFAULT_SOURCE):
    """Copy the execnet package at `source` to dest/execnet and break it."""
    if name not in MUTANTS:
        raise MutantError(
            "unknown mutant %r; known: %s" % (name, ", ".join(sorted(MUTANTS)))
        )
    _, filename, subs = MUTANTS[name]
    if not os.path.isfile(os.path.join(source, "gateway_base.py")):
        raise MutantError("%s does not look like an execnet package" % source)
    pkg = os.path.join(dest, "execnet")
    if os.path.exists(pkg):
        shutil.rmtree(pkg)
    shutil.copytree(
        source, pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    path = os.path.join(pkg, filename)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for old, new in subs:
        n = text.count(old)
        if n != 1:
            raise MutantError(
                "mutant %s: expected exactly one match of %r in %s, found %d"
                % (name, old, filename, n)
            )
        text = text.replace(old, new)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return dest


def main(argv):
    p = argparse.ArgumentParser(description="build a broken execnet copy")
    p.add_argument("--list", action="store_true", help="list the mutants")
    p.add_argument("--source", default=DEFAULT_SOURCE, help="execnet package dir")
    p.add_argument("name", nargs="?")
    p.add_argument("dest", nargs="?")
    a = p.parse_args(argv)
    if a.list:
        for n in sorted(MUTANTS):
            print("%-20s %s" % (n, MUTANTS[n][0]))
        return 0
    if not a.name or not a.dest:
        p.error("NAME and DEST are required")
    try:
        print(build(a.name, a.dest, a.source))
    except (MutantError, OSError) as e:
        print("make_mutant: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
