package fuzz

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
)

// allocatedBy returns the bytes allocated while f runs (TotalAlloc only
// grows, so a collection in between does not hide allocations).
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileLengthsStayCheap feeds inputs whose declared lengths or
// counts are huge but whose data is tiny: neither the frame reader nor the
// decoder may allocate memory in proportion to the declared size.
func TestHostileLengthsStayCheap(t *testing.T) {
	const budget = 8 << 20 // bytes; the declared sizes below are 2 GiB
	frames := map[string][]byte{
		"frame-2GiB-payload-10-bytes": append(mustHex(t, "04000000017fffffff"), bytes.Repeat([]byte{'x'}, 10)...),
		"frame-2GiB-payload-no-data":  mustHex(t, "04000000017fffffff"),
	}
	for name, in := range frames {
		n := allocatedBy(func() {
			r := frame.NewReader(bytes.NewReader(in))
			if _, err := r.ReadFrame(); err == nil {
				t.Errorf("%s: no error", name)
			}
		})
		if n > budget {
			t.Errorf("%s: reader allocated %d bytes for %d input bytes", name, n, len(in))
		}
	}
	values := map[string][]byte{
		"bytes-2GiB-no-data":    mustHex(t, "417fffffff"),
		"str-2GiB-no-data":      mustHex(t, "4e7fffffff"),
		"longint-2GiB-no-data":  mustHex(t, "487fffffff"),
		"newlist-2G-slots":      mustHex(t, "4b7fffffff51"),
		"newlist-2G-then-items": mustHex(t, "4b7fffffff46000000004c5051"),
		"set-2G-elements":       mustHex(t, "4f7fffffff51"),
		"tuple-2G-elements":     mustHex(t, "407fffffff51"),
		"nested-newlists":       bytes.Repeat(mustHex(t, "4b00100000"), 1000),
	}
	for name, in := range values {
		n := allocatedBy(func() {
			if v, err := codec.Loads(in); err == nil {
				t.Errorf("%s: decoded to %s", name, codec.Repr(v))
			}
		})
		if n > budget {
			t.Errorf("%s: decoder allocated %d bytes for %d input bytes", name, n, len(in))
		}
	}
}
