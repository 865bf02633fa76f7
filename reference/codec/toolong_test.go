package codec

import (
	"errors"
	"testing"
	"unsafe"
)

// TestEncodeRefusesOverInt32Lengths covers LIM-LEN-1: a bytes, py2str or
// text value of 2^31 bytes is refused with ErrTooLong before any byte of it
// is read. The 2 GiB buffer is never touched, so it costs address space,
// not memory.
func TestEncodeRefusesOverInt32Lengths(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 2 GiB of address space")
	}
	if unsafe.Sizeof(uintptr(0)) < 8 {
		t.Skip("needs a 64-bit address space")
	}
	big := make([]byte, 1<<31)
	for _, v := range []Value{Bytes(big), Py2Str(big), Str(unsafe.String(&big[0], len(big))),
		Tuple{Bytes(big)}, List{Int(1), Bytes(big)}} {
		_, err := Dumps(v)
		if !errors.Is(err, ErrTooLong) {
			t.Fatalf("Dumps(%s of 2^31 bytes): got %v, want ErrTooLong", v.Kind(), err)
		}
		var ee *EncodeError
		if !errors.As(err, &ee) {
			t.Fatalf("error %T is not an *EncodeError", err)
		}
	}
}
