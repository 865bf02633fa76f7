package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// MaxStreamItem bounds the item size conform_stream builds, so that a
// request cannot make the worker allocate without limit.
const MaxStreamItem = 256 << 20

// procChannel is what a profile procedure needs from its channel. gw.go
// adapts the gateway's channel to it.
type procChannel interface {
	// Send sends one value.
	Send(ctx context.Context, v codec.Value) error
	// Receive returns the next item, or an error matching io.EOF once the
	// peer has closed (or any other error that ends the procedure).
	Receive(ctx context.Context) (codec.Value, error)
	// StrConfig is the channel's current string configuration.
	StrConfig() codec.StrConfig
	// NewChannel opens a channel from this side.
	NewChannel() (procChannel, error)
	// Value is the channel as a value that can be sent inside data.
	Value() codec.Value
	// GatewayID is the id of the gateway the channel belongs to: the
	// worker's id (SPEC.md BOOT-ID-1, BOOT-ID-2).
	GatewayID() string
}

// ExecError is a procedure's failure: the executor ends the channel with
// CHANNEL_CLOSE_ERROR carrying Text.
type ExecError struct{ Text string }

func (e *ExecError) Error() string { return e.Text }

func execErrorf(format string, args ...any) error {
	return &ExecError{Text: fmt.Sprintf(format, args...)}
}

// procedure is a native implementation of one profile procedure.
type procedure func(ctx context.Context, ch procChannel, kw *codec.Dict, opts Options) error

func procedures() map[string]procedure {
	return map[string]procedure{
		profile.Echo:       procEcho,
		profile.Fail:       procFail,
		profile.Stream:     procStream,
		profile.NewChannel: procNewChannel,
		profile.Dumps:      procDumps,
		profile.Loads:      procLoads,
		profile.Info:       procInfo,
		profile.Sleep:      procSleep,
		profile.GatewayID:  procGatewayID,
	}
}

// limitationText is the CHANNEL_CLOSE_ERROR text for anything but a
// profile procedure.
func limitationText(callName string) string {
	what := "source without a call_name"
	if callName != "" {
		what = fmt.Sprintf("call_name %q", callName)
	}
	return fmt.Sprintf("NotImplementedError: %s (the execnet-conform Go worker) cannot execute Python source (got %s); "+
		"it implements only the conformance profile procedures: %s", Implementation, what, strings.Join(profile.Names(), ", "))
}

// procTable is what runProcedure looks a call up in, built once per
// executor: the native procedures and the parsed profile. Building them
// per execution (parsing profile.py to check the keyword arguments) cost
// some 40 us, more than the rest of a short execution together.
type procTable struct {
	procs   map[string]procedure
	profile *profile.Table
}

func newProcTable() *procTable {
	return &procTable{procs: procedures(), profile: profile.NewTable()}
}

// runProcedure runs the procedure callName with kwargs on ch. A nil
// result means a normal end; an *ExecError carries the error text.
func (t *procTable) runProcedure(ctx context.Context, ch procChannel, callName string, kwargs *codec.Dict, opts Options) error {
	p, ok := t.procs[callName]
	if !ok {
		return &ExecError{Text: limitationText(callName)}
	}
	if kwargs == nil {
		kwargs = &codec.Dict{}
	}
	if err := t.profile.CheckKwargs(callName, kwargs); err != nil {
		return execErrorf("TypeError: %s", strings.TrimPrefix(err.Error(), "profile: "))
	}
	err := p(ctx, ch, kwargs, opts)
	if errors.Is(err, io.EOF) {
		// As in execnet: the receive side ended, which is a normal end.
		return nil
	}
	return err
}

func kwarg(kw *codec.Dict, name string) codec.Value {
	v, _ := kw.Get(codec.Str(name))
	return v
}

// intArg converts an int keyword argument, clamping huge values to the
// int64 range (they only ever mean "very many").
func intArg(kw *codec.Dict, name string) (int64, error) {
	switch v := kwarg(kw, name).(type) {
	case codec.Int:
		return int64(v), nil
	case codec.BigInt:
		if v.V.Sign() < 0 {
			return math.MinInt64, nil
		}
		return math.MaxInt64, nil
	default:
		return 0, execErrorf("TypeError: %s must be an int, got %s", name, kindOf(v))
	}
}

func kindOf(v codec.Value) string {
	if v == nil {
		return "nothing"
	}
	return v.Kind().String()
}

// receive returns the next item as a Python 3 worker would see it.
func receive(ctx context.Context, ch procChannel) (codec.Value, error) {
	v, err := ch.Receive(ctx)
	if err != nil {
		return nil, err
	}
	return asPython3(v)
}

func procEcho(ctx context.Context, ch procChannel, _ *codec.Dict, _ Options) error {
	for {
		v, err := receive(ctx, ch)
		if err != nil {
			return err
		}
		if err := ch.Send(ctx, v); err != nil {
			return err
		}
	}
}

func procFail(_ context.Context, _ procChannel, kw *codec.Dict, _ Options) error {
	text, ok := kwarg(kw, "message").(codec.Str)
	if !ok {
		return execErrorf("TypeError: message must be str, not %s", kindOf(kwarg(kw, "message")))
	}
	return &ExecError{Text: "RuntimeError: " + string(text)}
}

func procStream(ctx context.Context, ch procChannel, kw *codec.Dict, _ Options) error {
	count, err := intArg(kw, "count")
	if err != nil {
		return err
	}
	size, err := intArg(kw, "size")
	if err != nil {
		return err
	}
	if count < 0 || size < 0 {
		// SPEC CONF-ARGS-2, as the Python profile raises.
		return execErrorf("ValueError: count and size must not be negative, got count %d, size %d", count, size)
	}
	if size > MaxStreamItem {
		return execErrorf("Limit: MemoryError: conform_stream size %d exceeds this worker's bound of %d bytes", size, MaxStreamItem)
	}
	item := make([]byte, size)
	for i := range item {
		item[i] = byte(i % profile.StreamModulus)
	}
	// Bytes values are immutable once shared, so one item serves all,
	// boxed once: the loop allocates nothing per item.
	v := codec.Value(codec.Bytes(item))
	for n := int64(0); n < count; n++ {
		if err := ch.Send(ctx, v); err != nil {
			return err
		}
	}
	return nil
}

func procNewChannel(ctx context.Context, ch procChannel, _ *codec.Dict, _ Options) error {
	other, err := ch.NewChannel()
	if err != nil {
		return err
	}
	if err := ch.Send(ctx, other.Value()); err != nil {
		return err
	}
	return procEcho(ctx, other, nil, Options{})
}

func procDumps(ctx context.Context, ch procChannel, _ *codec.Dict, _ Options) error {
	for {
		v, err := receive(ctx, ch)
		if err != nil {
			return err
		}
		b, err := codec.Dumps(v)
		if err != nil {
			return execErrorf("%s: EncodeError: %v", errorClass(err), err)
		}
		if err := ch.Send(ctx, codec.Bytes(b)); err != nil {
			return err
		}
	}
}

func procLoads(ctx context.Context, ch procChannel, _ *codec.Dict, _ Options) error {
	for {
		v, err := receive(ctx, ch)
		if err != nil {
			return err
		}
		b, ok := v.(codec.Bytes)
		if !ok {
			return execErrorf("Unknown: TypeError: conform_loads expects bytes items, got %s", kindOf(v))
		}
		out, err := loadsNoChannels(b, ch.StrConfig())
		if err == nil {
			out, err = asPython3(out)
		}
		if err != nil {
			return execErrorf("%s: DecodeError: %v", errorClass(err), err)
		}
		if err := ch.Send(ctx, out); err != nil {
			return err
		}
	}
}

// errorClasses maps codec sentinels to the spec's error class names, in
// the order they are tested.
var errorClasses = []struct {
	err  error
	name string
}{
	{codec.ErrTruncated, "Truncated"},
	{codec.ErrUnknownOpcode, "UnknownOpcode"},
	{codec.ErrStackUnderflow, "StackUnderflow"},
	{codec.ErrStopStack, "StopStack"},
	{codec.ErrUnhashable, "Unhashable"},
	{codec.ErrBadInteger, "BadInteger"},
	{codec.ErrBadUTF8, "BadUTF8"},
	{codec.ErrNegativeLength, "NegativeLength"},
	{codec.ErrIndexRange, "IndexRange"},
	{codec.ErrNotContainer, "NotContainer"},
	{codec.ErrLimit, "Limit"},
	{codec.ErrVersion, "Version"},
	{codec.ErrChannelNotAllowed, "ChannelNotAllowed"},
}

// errorClass returns the spec error class name of a codec error, or
// "Unknown".
func errorClass(err error) string {
	for _, c := range errorClasses {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "Unknown"
}

func procInfo(ctx context.Context, ch procChannel, _ *codec.Dict, opts Options) error {
	d, err := codec.NewDict(
		codec.Item{Key: codec.Str("implementation"), Value: codec.Str(Implementation)},
		codec.Item{Key: codec.Str("version"), Value: codec.Str(opts.version())},
		codec.Item{Key: codec.Str("spec"), Value: codec.Str(spec.Version)},
		codec.Item{Key: codec.Str("language"), Value: codec.Str("go")},
	)
	if err != nil {
		return err
	}
	return ch.Send(ctx, d)
}

// procGatewayID sends the id the worker serves under (CONF-GWID-1): the
// one Options.ID or the bootstrap line named, or "worker".
func procGatewayID(ctx context.Context, ch procChannel, _ *codec.Dict, _ Options) error {
	return ch.Send(ctx, codec.Str(ch.GatewayID()))
}

// MaxSleep bounds conform_sleep.
const MaxSleep = 24 * time.Hour

func procSleep(ctx context.Context, _ procChannel, kw *codec.Dict, _ Options) error {
	var secs float64
	switch v := kwarg(kw, "seconds").(type) {
	case codec.Int:
		secs = float64(v)
	case codec.Float:
		secs = float64(v)
	case codec.BigInt:
		secs, _ = new(big.Float).SetInt(v.V).Float64()
	default:
		return execErrorf("TypeError: seconds must be a number, got %s", kindOf(v))
	}
	if math.IsInf(secs, 0) {
		// SPEC CONF-ARGS-3: refused at once, as Python's time.sleep does.
		return execErrorf("OverflowError: sleep length %v is not finite", secs)
	}
	if math.IsNaN(secs) {
		return execErrorf("ValueError: Invalid value NaN (not a number)")
	}
	if secs < 0 {
		return execErrorf("ValueError: sleep length must be non-negative")
	}
	d := MaxSleep
	if secs < MaxSleep.Seconds() {
		d = time.Duration(secs * float64(time.Second))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// asPython3 returns v as a Python 3 worker holds it: Python 3 has no
// separate type for a legacy Python 2 byte string, so a Py2Str (what a
// PY2STRING decodes to when strconfig asks for bytes) is a plain bytes
// object there, and goes back out with the BYTES opcode. Values without a
// Py2Str are returned as they are.
func asPython3(v codec.Value) (codec.Value, error) {
	if !hasPy2Str(v) {
		return v, nil
	}
	return convertPy2Str(v)
}

func hasPy2Str(v codec.Value) bool {
	switch x := v.(type) {
	case codec.Py2Str:
		return true
	case codec.Tuple:
		return anyPy2Str(x)
	case codec.List:
		return anyPy2Str(x)
	case codec.Set:
		return anyPy2Str(x)
	case codec.FrozenSet:
		return anyPy2Str(x)
	case *codec.Dict:
		for _, it := range x.Items() {
			if hasPy2Str(it.Key) || hasPy2Str(it.Value) {
				return true
			}
		}
	}
	return false
}

func anyPy2Str(xs []codec.Value) bool {
	for _, x := range xs {
		if hasPy2Str(x) {
			return true
		}
	}
	return false
}

func convertPy2Str(v codec.Value) (codec.Value, error) {
	switch x := v.(type) {
	case codec.Py2Str:
		return codec.Bytes(x), nil
	case codec.Tuple:
		out, err := convertAll(x)
		return codec.Tuple(out), err
	case codec.List:
		out, err := convertAll(x)
		return codec.List(out), err
	case codec.Set:
		out, err := convertAll(x)
		if err != nil {
			return nil, err
		}
		return codec.NewSet(out...)
	case codec.FrozenSet:
		out, err := convertAll(x)
		if err != nil {
			return nil, err
		}
		return codec.NewFrozenSet(out...)
	case *codec.Dict:
		d := &codec.Dict{}
		for _, it := range x.Items() {
			k, err := convertPy2Str(it.Key)
			if err != nil {
				return nil, err
			}
			val, err := convertPy2Str(it.Value)
			if err != nil {
				return nil, err
			}
			if err := d.Set(k, val); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return v, nil
}

func convertAll(xs []codec.Value) ([]codec.Value, error) {
	out := make([]codec.Value, len(xs))
	for i, x := range xs {
		y, err := convertPy2Str(x)
		if err != nil {
			return nil, err
		}
		out[i] = y
	}
	return out, nil
}
