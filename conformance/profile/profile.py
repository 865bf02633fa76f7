"""execnet-conform conformance profile, Python side.

Every top-level function here is one profile procedure. A master sends a
procedure with execnet's remote_exec(function, **kwargs): only the
function's own dedented source travels, so each function is
self-contained. Rules that keep them sendable by execnet's remote_exec:

- no module-level names: everything is imported inside the function;
- no comprehensions, generator expressions, lambdas or nested functions
  (execnet rejects names that are not locals of the function or builtins);
- the first parameter is named channel.

The Go worker (reference/worker) implements the same procedures natively,
by call_name. SPEC.md section "Conformance profile" is the normative text.
"""


def conform_echo(channel):
    # Send every received item straight back, until the peer closes.
    for item in channel:
        channel.send(item)


def conform_fail(channel, message):
    # End the execution with an exception; the peer sees a
    # CHANNEL_CLOSE_ERROR whose text ends with "RuntimeError: <message>".
    if type(message) is not str:
        raise TypeError("message must be str, not " + type(message).__name__)
    raise RuntimeError(message)


def conform_stream(channel, count, size):
    # Send count bytes items of size bytes each; byte i is i % 251.
    if type(count) is not int or type(size) is not int:
        raise TypeError("count and size must be int")
    if count < 0 or size < 0:
        raise ValueError("count and size must not be negative")
    pattern = bytes(range(251))
    item = (pattern * (size // 251 + 1))[:size]
    sent = 0
    while sent < count:
        channel.send(item)
        sent += 1


def conform_newchannel(channel):
    # Open a channel from this side, send it inside data, then echo on it
    # until the peer closes it.
    other = channel.gateway.newchannel()
    channel.send(other)
    for item in other:
        other.send(item)


def conform_dumps(channel):
    # Answer every item with its wire bytes (the serialization without the
    # version byte), as this side's serializer writes them.
    import sys

    base = sys.modules.get(type(channel).__module__)
    if base is not None and hasattr(base, "dumps_internal"):
        dumps = base.dumps_internal
    else:
        dumps = type(channel).send.__globals__["dumps_internal"]
    for item in channel:
        channel.send(dumps(item))


def conform_loads(channel):
    # Decode every bytes item as wire bytes (no version byte) with this
    # channel's string configuration and send the value back. On the first
    # failure the channel ends with CHANNEL_CLOSE_ERROR and the text
    # "<SpecClass>: <PythonClass>: <message>".
    import struct
    import sys

    base = sys.modules.get(type(channel).__module__)
    if base is not None and hasattr(base, "loads_internal"):
        loads = base.loads_internal
    else:
        loads = type(channel).send.__globals__["loads_internal"]
    for item in channel:
        # Read per item: a RECONFIGURE may arrive after the execution began.
        strconfig = getattr(channel, "_strconfig", None)
        message = None
        if not isinstance(item, bytes):
            message = "Unknown: TypeError: conform_loads expects bytes items, got "
            message += type(item).__name__
        else:
            try:
                value = loads(item, None, strconfig)
            except Exception as exc:
                text = str(exc)
                low = text.lower()
                name = type(exc).__name__
                if isinstance(exc, struct.error):
                    name = "struct.error"
                if isinstance(exc, (EOFError, struct.error)):
                    cls = "Truncated"
                elif isinstance(exc, UnicodeDecodeError):
                    cls = "BadUTF8"
                elif "unkown opcode" in low or "unknown opcode" in low:
                    cls = "UnknownOpcode"
                elif "internal unserialization error" in low:
                    cls = "StopStack"
                elif "not enough items" in low:
                    cls = "StackUnderflow"
                elif isinstance(exc, TypeError) and "unhashable" in low:
                    cls = "Unhashable"
                elif isinstance(exc, TypeError) and "indices must be" in low:
                    cls = "IndexRange"
                elif isinstance(exc, TypeError):
                    cls = "NotContainer"
                elif isinstance(exc, IndexError):
                    cls = "IndexRange"
                elif isinstance(exc, ValueError) and "exceeds the limit" in low:
                    cls = "Limit"
                elif isinstance(exc, ValueError) and "int()" in low:
                    cls = "BadInteger"
                elif isinstance(exc, MemoryError):
                    cls = "Limit"
                elif "wrong dumpformat version" in low:
                    cls = "Version"
                elif isinstance(exc, (AttributeError, AssertionError)):
                    cls = "ChannelNotAllowed"
                else:
                    cls = "Unknown"
                message = cls + ": " + name + ": " + text
        if message is not None:
            # execnet forbids close() while the procedure runs; lift that
            # guard so that the error text is exactly ours rather than a
            # traceback. Where the guard does not exist, raise instead.
            if hasattr(channel, "_executing"):
                channel._executing = False
                channel.close(message)
                return
            raise RuntimeError(message)
        channel.send(value)


def conform_info(channel):
    # Describe this implementation.
    import platform

    try:
        import execnet

        version = execnet.__version__
    except Exception:
        version = "unknown"
    channel.send(
        {
            "implementation": "python-execnet",
            "version": version,
            "spec": "1.0-draft",
            "language": "python "
            + platform.python_implementation()
            + " "
            + platform.python_version(),
        }
    )


def conform_sleep(channel, seconds):
    # Sleep, then end normally; used to test termination of busy workers.
    import time

    if type(seconds) not in (int, float):
        raise TypeError("seconds must be int or float, not " + type(seconds).__name__)
    time.sleep(seconds)


def conform_gateway_id(channel):
    # Send the id this side's gateway serves under: the id its bootstrap
    # source passed to serve(), e.g. "gw0-worker".
    channel.send(channel.gateway.id)
