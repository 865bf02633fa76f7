package mutation

import (
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"
)

const tiny = `package tiny

import "errors"

var table = []int{1, 2} // package level: never mutated

func Check(n int, ok bool) (int, error) {
	if n < 10 && ok {
		n++
		return n * 2, nil
	}
	log(n)
	return -n, errors.New("big")
}

func (s *S) Skip(b bool) bool { return !b == true }

func log(int) {}

type S struct{}
`

// byID indexes mutants and fails on a duplicate id.
func byID(t *testing.T, ms []Mutant) map[string]Mutant {
	t.Helper()
	out := map[string]Mutant{}
	for _, m := range ms {
		if _, dup := out[m.ID]; dup {
			t.Fatalf("duplicate id %s", m.ID)
		}
		out[m.ID] = m
	}
	return out
}

func TestGenerateTiny(t *testing.T) {
	ms, err := Generate("tiny/tiny.go", []byte(tiny), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := byID(t, ms)
	want := map[string][2]string{
		"tiny/tiny.go:Check:cmp-boundary:0":   {"<", "<="},
		"tiny/tiny.go:Check:cmp-negate:0":     {"<", ">="},
		"tiny/tiny.go:Check:logical:0":        {"&&", "||"},
		"tiny/tiny.go:Check:incdec:0":         {"++", "--"},
		"tiny/tiny.go:Check:arith:0":          {"*", "/"},
		"tiny/tiny.go:Check:int-inc:0":        {"10", "11"},
		"tiny/tiny.go:Check:int-dec:0":        {"10", "9"},
		"tiny/tiny.go:Check:int-inc:1":        {"2", "3"},
		"tiny/tiny.go:Check:int-dec:1":        {"2", "1"},
		"tiny/tiny.go:Check:if-negate:0":      {"n < 10 && ok", "!(n < 10 && ok)"},
		"tiny/tiny.go:Check:call-remove:0":    {"log(n)", ""},
		"tiny/tiny.go:Check:neg-remove:0":     {"-", ""},
		"tiny/tiny.go:Check:err-nil:0":        {`errors.New("big")`, "nil"},
		"tiny/tiny.go:(*S).Skip:not-remove:0": {"!", ""},
		"tiny/tiny.go:(*S).Skip:cmp-negate:0": {"==", "!="},
		"tiny/tiny.go:(*S).Skip:bool:0":       {"true", "false"},
	}
	for id, w := range want {
		m, ok := got[id]
		if !ok {
			t.Errorf("missing mutant %s", id)
			continue
		}
		if m.Old != w[0] || m.New != w[1] {
			t.Errorf("%s: %q -> %q, want %q -> %q", id, m.Old, m.New, w[0], w[1])
		}
	}
	if len(got) != len(want) {
		var extra []string
		for id := range got {
			if _, ok := want[id]; !ok {
				extra = append(extra, id)
			}
		}
		slices.Sort(extra)
		t.Errorf("%d mutants, want %d; unexpected: %v", len(got), len(want), extra)
	}
	// "return n * 2, nil" already returns nil: no err-nil mutant there;
	// the package-level table is not mutated.
	for _, m := range ms {
		if m.Line == 5 {
			t.Errorf("package-level declaration mutated: %s", m.ID)
		}
	}
}

// Every mutant applies to the source it came from and yields a file that
// still parses and differs from the original exactly at the mutant.
func TestApplyParses(t *testing.T) {
	ms, err := Generate("tiny/tiny.go", []byte(tiny), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		out, err := m.Apply([]byte(tiny))
		if err != nil {
			t.Fatal(err)
		}
		if string(out) == tiny {
			t.Errorf("%s: no change", m.ID)
		}
		if _, err := parser.ParseFile(token.NewFileSet(), "x.go", out, 0); err != nil {
			t.Errorf("%s: mutated file does not parse: %v", m.ID, err)
		}
		if strings.Count(string(out), "\n") != strings.Count(tiny, "\n") {
			t.Errorf("%s: line count changed (line numbers in the binary would move)", m.ID)
		}
	}
	if _, err := ms[0].Apply([]byte("package other\n")); err == nil {
		t.Error("Apply to other text: no error")
	}
}

// Ids depend on the function, not on where it is in the file.
func TestIDsStableUnderEditsElsewhere(t *testing.T) {
	include := func(fn string) bool { return fn == "(*S).Skip" }
	a, err := Generate("tiny/tiny.go", []byte(tiny), include)
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(tiny, "func log(int) {}", "func log(int) {}\n\nfunc extra(x int) bool { return x > 1 }", 1)
	moved = strings.Replace(moved, "import \"errors\"", "import \"errors\"\n\n// a comment that moves every line", 1)
	b, err := Generate("tiny/tiny.go", []byte(moved), include)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 3 || len(a) != len(b) {
		t.Fatalf("%d and %d mutants, want 3 each", len(a), len(b))
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Old != b[i].Old || a[i].New != b[i].New {
			t.Errorf("mutant %d: %s vs %s", i, a[i].ID, b[i].ID)
		}
	}
}

func TestSampleDeterministic(t *testing.T) {
	ms, err := Generate("tiny/tiny.go", []byte(tiny), nil)
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := Sample(ms, 7, 5), Sample(ms, 7, 5)
	if len(s1) != 5 {
		t.Fatalf("sample of %d, want 5", len(s1))
	}
	for i := range s1 {
		if s1[i].ID != s2[i].ID {
			t.Fatalf("same seed, different samples: %s vs %s", s1[i].ID, s2[i].ID)
		}
	}
	// A mutant's place does not depend on the others: the sample of a
	// subset keeps the subset's members in the same order.
	sub := Sample(ms[:len(ms)/2], 7, 0)
	full := Sample(ms, 7, 0)
	var filtered []string
	in := map[string]bool{}
	for _, m := range sub {
		in[m.ID] = true
	}
	for _, m := range full {
		if in[m.ID] {
			filtered = append(filtered, m.ID)
		}
	}
	for i := range sub {
		if sub[i].ID != filtered[i] {
			t.Fatalf("order of a subset changed at %d", i)
		}
	}
	if len(Sample(ms, 7, 0)) != len(ms) {
		t.Error("n=0 does not return all")
	}
}

func TestParseNM(t *testing.T) {
	out := []byte(`  4a0000 T example.com/m/codec.Encode
  4a0100 T example.com/m/codec.(*Decoder).item
  4a0200 T example.com/m/codec.(*slab[go.shape.struct { example.com/m/codec.items []int }]).put
  4a0300 T example.com/m/codec.estimate.func1
  4a0400 T example.com/m/gateway.(*Gateway).receiver.deferwrap1
  4a0500 T example.com/m/gateway.(*Gateway).resolve-fm
  4a0600 T example.com/m/gateway.(*Channel).invoke.func1.1
  4a0700 T example.com/m/codec.init.func1
  4a0710 T example.com/m/codec.init.0
  4a0800 R example.com/m/codec.table
  4a0900 T example.com/m/codecx.Other
`)
	r := parseNM(out, []string{"example.com/m/codec", "example.com/m/gateway"})
	for _, want := range []string{"Encode", "(*Decoder).item", "(*slab).put", "estimate", "init"} {
		if !r.Has("example.com/m/codec", want) {
			t.Errorf("codec %s missing", want)
		}
	}
	for _, want := range []string{"(*Gateway).receiver", "(*Gateway).resolve", "(*Channel).invoke"} {
		if !r.Has("example.com/m/gateway", want) {
			t.Errorf("gateway %s missing", want)
		}
	}
	if len(r["example.com/m/codec"]) != 5 {
		t.Errorf("codec: %v, want 5 functions (no data, no other package)", r["example.com/m/codec"])
	}
}

func TestReportScore(t *testing.T) {
	run := &Run{Seed: 1, Generated: 10, Sampled: 6, Results: []Result{
		{Mutant: Mutant{ID: "a", Old: "<", New: "<="}, Status: Killed, Case: "c1"},
		{Mutant: Mutant{ID: "b", Old: "<", New: "<="}, Status: Killed, Case: "c1"},
		{Mutant: Mutant{ID: "c", Old: "<", New: "<="}, Status: Survived},
		{Mutant: Mutant{ID: "d", Old: "<", New: "<="}, Status: Survived},
		{Mutant: Mutant{ID: "e", Old: "<", New: "<="}, Status: NotCompiled},
		{Mutant: Mutant{ID: "f", Old: "<", New: "<="}, Status: Survived},
		{Mutant: Mutant{ID: "g", Old: "<", New: "<="}, Status: Survived},
	}}
	rep := NewReport(run, map[string]Explanation{
		"c": {Class: Equivalent, Reason: "r"},
		"d": {Class: Gap, Reason: "r", Case: "x"},
		"f": {Class: Equivalent, Reason: "written for other text", Old: ">"},
		"g": {Class: Unspecified, Reason: "message wording"},
		"z": {Class: Gap, Reason: "stale"},
	})
	c := rep.Counts
	if c.Run != 6 || c.Killed != 2 || c.Survived != 4 || c.Equivalent != 1 || c.Unspecified != 1 || c.Gap != 1 || c.Unexplained != 1 || c.NotCompiled != 1 {
		t.Errorf("counts %+v", c)
	}
	if rep.Score != 0.5 { // 2 killed of 4: neither equivalent nor unspecified
		t.Errorf("score %v, want 0.5", rep.Score)
	}
	if rep.StrictScore != 0.4 { // 2 killed of 5 non-equivalent
		t.Errorf("strict score %v, want 0.4", rep.StrictScore)
	}
	if !slices.Equal(rep.Unused, []string{"f", "z"}) {
		t.Errorf("unused %v", rep.Unused)
	}
	var md strings.Builder
	if err := rep.WriteMarkdown(&md, "cmd"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 of 4 mutants that break", "2 of 5 non-equivalent", "leaves open", "**Not yet explained.**", "Case that would catch it: x", "- `d`: x"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}
