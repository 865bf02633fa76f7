package cases

import (
	"strings"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// negativeCases replays SPEC.md Appendix A (the negative examples) in the
// wire form through conform_loads: each input must be rejected with the
// class the table gives. Public-form rows never travel in a frame and are
// left to the codec's own tests.
func negativeCases() []conformance.Case {
	rows, err := spec.NegativeExamples()
	if err != nil {
		return []conformance.Case{{
			ID:          "vectors/appendix-a/load",
			Clauses:     []string{"NEG-VEC-1"},
			Level:       conformance.MUST,
			Description: "SPEC.md Appendix A parses",
			Run:         func(t *conformance.T) { t.Fatalf("suite bug: %v", err) },
		}}
	}
	var cs []conformance.Case
	for _, r := range rows {
		r := r
		if r.Form != "wire" {
			continue
		}
		cl := []string{"NEG-VEC-1", cDecErrors}
		if c, ok := appendixClause(r.Class, r.Input); ok {
			cl = append(cl, c)
		}
		cs = append(cs, conformance.Case{
			ID:          "vectors/appendix-a/" + r.ID,
			Clauses:     cl,
			Level:       conformance.MUST,
			Description: "conform_loads rejects SPEC.md Appendix A row " + r.ID + " (" + r.Why + ") with " + r.Class,
			Timeout:     decodeTimeout,
			Run: func(t *conformance.T) {
				checkRejected(t, "Appendix A "+r.ID+" ("+r.Why+")", r.Input, r.Class)
			},
		})
	}
	return cs
}

// appendixClause returns the clause that requires a row of Appendix A to
// raise its class: the clause of errorClassClause, except for Limit on an
// input that starts with NEWLIST, which is the slot bound of LIM-ALLOC-2
// rather than the digit limit of LIM-INT-2.
func appendixClause(class string, input []byte) (string, bool) {
	if class == "Limit" && len(input) > 0 && input[0] == byte(spec.OpNewList) {
		return "LIM-ALLOC-2", true
	}
	c, ok := errorClassClause[class]
	return c, ok
}

// checkRejected sends b to conform_loads and requires CHANNEL_CLOSE_ERROR
// whose text starts with "class:".
func checkRejected(t *conformance.T, what string, b []byte, class string) {
	_, f := execLoads(t, b)
	switch f.Code {
	case spec.MsgChannelCloseError:
		text := closeErrorText(f)
		if !strings.HasPrefix(text, class+":") {
			t.Fatalf("%s, hex %s: conform_loads failed with %q, want a text starting with %q", what, hexOf(b), text, class+":")
		}
	case spec.MsgChannelData:
		got, err := codec.Loads(f.Payload)
		if err != nil {
			t.Fatalf("%s, hex %s: accepted (expected error class %s); the reply does not decode either: hex %s", what, hexOf(b), class, hexOf(f.Payload))
		}
		t.Fatalf("%s, hex %s: accepted as %s (expected error class %s)", what, hexOf(b), reprOf(got), class)
	default:
		t.Fatalf("%s, hex %s: expected CHANNEL_CLOSE_ERROR with class %s, got %s", what, hexOf(b), class, f.Code)
	}
}
