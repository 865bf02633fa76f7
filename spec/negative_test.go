package spec_test

import (
	"errors"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// classErr maps the error classes of SPEC.md section 6.2 to the reference
// codec's sentinels.
var classErr = map[string]error{
	spec.ClassTruncated:         codec.ErrTruncated,
	spec.ClassUnknownOpcode:     codec.ErrUnknownOpcode,
	spec.ClassStackUnderflow:    codec.ErrStackUnderflow,
	spec.ClassStopStack:         codec.ErrStopStack,
	spec.ClassUnhashable:        codec.ErrUnhashable,
	spec.ClassBadInteger:        codec.ErrBadInteger,
	spec.ClassBadUTF8:           codec.ErrBadUTF8,
	spec.ClassNegativeLength:    codec.ErrNegativeLength,
	spec.ClassIndexRange:        codec.ErrIndexRange,
	spec.ClassNotContainer:      codec.ErrNotContainer,
	spec.ClassLimit:             codec.ErrLimit,
	spec.ClassVersion:           codec.ErrVersion,
	spec.ClassChannelNotAllowed: codec.ErrChannelNotAllowed,
}

// TestNegativeExamplesAgainstCodec decodes every input of SPEC.md
// Appendix A with the reference codec and checks the error class, so that
// the spec's examples and the reference implementation cannot drift apart.
func TestNegativeExamplesAgainstCodec(t *testing.T) {
	if len(classErr) != len(spec.ErrorClasses()) {
		t.Fatalf("classErr covers %d classes, spec has %d", len(classErr), len(spec.ErrorClasses()))
	}
	exs, err := spec.NegativeExamples()
	if err != nil {
		t.Fatal(err)
	}
	if len(exs) < 40 {
		t.Fatalf("only %d negative examples", len(exs))
	}
	seen := map[string]bool{}
	for _, ex := range exs {
		seen[ex.Class] = true
		var v codec.Value
		if ex.Form == "wire" {
			v, err = codec.Loads(ex.Input)
		} else {
			v, _, err = codec.LoadsVersioned(ex.Input)
		}
		if err == nil {
			t.Errorf("%s (%s, % x): codec returned %v, want %s", ex.ID, ex.Why, ex.Input, v, ex.Class)
			continue
		}
		if !errors.Is(err, classErr[ex.Class]) {
			t.Errorf("%s (%s): codec error %v, want class %s", ex.ID, ex.Why, err, ex.Class)
		}
	}
	for _, c := range spec.ErrorClasses() {
		if !seen[c] {
			t.Errorf("Appendix A has no example of class %s", c)
		}
	}
}
