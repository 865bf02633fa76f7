package difffuzz

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/internal/peers"
	"github.com/execnet-conform/execnet-conform/internal/testworker"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/worker"
	"github.com/execnet-conform/execnet-conform/spec"
)

func TestMain(m *testing.M) { testworker.Main(m) }

func goWorker(t *testing.T) Options {
	t.Helper()
	return Options{Target: testworker.Target(t), Env: append(conformance.TargetEnv(os.Environ(), nil), testworker.Env+"=1")}
}

func TestGoWorkerAgrees(t *testing.T) {
	o := goWorker(t)
	o.Duration = 5 * time.Second
	o.Seed = 1
	rep, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Go worker: %d loads, %d dumps, %d reference-only in %v", rep.LoadsExecs, rep.DumpsExecs, rep.ReferenceOnly, rep.Duration)
	if rep.LoadsExecs < 100 || rep.DumpsExecs < 30 {
		t.Fatalf("too few executions: %d loads, %d dumps", rep.LoadsExecs, rep.DumpsExecs)
	}
	if rep.Implementation["implementation"] != worker.Implementation {
		t.Fatalf("conform_info of the target: %v", rep.Implementation)
	}
	for _, f := range rep.Findings {
		t.Errorf("disagreement with the Go worker:\n%s", f)
	}
}

// awaitingRow lists execnet deviations that this fuzzer found and that
// SPEC.md Appendix B does not list yet, by finding key with a reason. They
// stay unclassified (the CLI exits 1 on them) until a row is added; the
// test logs them instead of failing. Empty: the last two found (a short
// text operand, DEV-24; a huge int SETITEM key on a non-container, DEV-25)
// have rows now.
var awaitingRow = map[string]string{}

func TestPythonOnlyClassifiedDeviations(t *testing.T) {
	py := peers.CPython(t)
	o := Options{Target: "popen//python=" + py, Style: "import", Duration: 10 * time.Second, Seed: 2}
	rep, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CPython execnet: %d loads, %d dumps, %d reference-only in %v", rep.LoadsExecs, rep.DumpsExecs, rep.ReferenceOnly, rep.Duration)
	if rep.LoadsExecs < 100 {
		t.Fatalf("too few executions: %d loads", rep.LoadsExecs)
	}
	classified := 0
	for _, f := range rep.Findings {
		if f.Classified() {
			classified++
			t.Logf("classified:\n%s", f)
			// DEV-1 minimizes to the first integer execnet cannot encode.
			if f.Deviation == "DEV-1" && f.Direction == "dumps" && f.Value != "-2147483649" {
				t.Errorf("DEV-1 dumps example %s, want it minimized to -2147483649", f.Value)
			}
			if f.Deviation == "DEV-1" && f.Direction == "loads" && len(f.Hex) > len("480000000b2d3231343734383336343951") {
				t.Errorf("DEV-1 loads example %s, want it minimized to 480000000b2d3231343734383336343951", f.Hex)
			}
			continue
		}
		if why, ok := awaitingRow[f.Key]; ok {
			t.Logf("unclassified, awaiting an Appendix B row (%s):\n%s", why, f)
			continue
		}
		t.Errorf("unclassified disagreement with CPython execnet:\n%s", f)
	}
	if classified == 0 {
		t.Fatal("no known deviation found in 10s against execnet 1.9: the fuzzer or its classifier is not working")
	}
}

// TestClassifyLoads feeds the classifier target answers that disagree
// with the reference, so it cannot silently accept everything.
func TestClassifyLoads(t *testing.T) {
	in := mustHex(t, "4800000003315f3051") // LONGINT "1_0": DEV-4
	ref, de := refLoads(in)
	if ref.accepted() || ref.Class != spec.ClassBadInteger {
		t.Fatalf("reference: %+v", ref)
	}
	v, ok := classifyLoads(in, ref, de, answer{Value: codec.Int(10)})
	if !ok || v.Kind != KindAcceptReject || v.Deviation != "DEV-4" {
		t.Fatalf("verdict %+v, %v; want accept-vs-reject DEV-4", v, ok)
	}
	if _, ok := classifyLoads(in, ref, de, answer{Class: spec.ClassBadInteger}); ok {
		t.Fatal("same class reported as a disagreement")
	}
	bad := mustHex(t, "4e00000001ff51") // invalid UTF-8: BadUTF8, no deviation
	ref, de = refLoads(bad)
	v, ok = classifyLoads(bad, ref, de, answer{Class: spec.ClassTruncated})
	if !ok || v.Kind != KindErrorClass || v.Deviation != "" {
		t.Fatalf("verdict %+v, %v; want an unclassified error-class disagreement", v, ok)
	}
	good := mustHex(t, "460000000151")
	ref, de = refLoads(good)
	v, ok = classifyLoads(good, ref, de, answer{Value: codec.Int(2)})
	if !ok || v.Kind != KindValue || v.Deviation != "" {
		t.Fatalf("verdict %+v, %v; want an unclassified value disagreement", v, ok)
	}
	if !strings.Contains(strings.Join(v.Clauses, " "), "ERR-GEN-1") {
		t.Fatalf("clauses %v lack ERR-GEN-1", v.Clauses)
	}
}

func TestMinimize(t *testing.T) {
	in := []byte("xxxxAxxxxxxBxxxx")
	got := minimize(in, 1000, func(b []byte) bool { return bytes.Contains(b, []byte("A")) && bytes.Contains(b, []byte("B")) })
	if string(got) != "AB" {
		t.Fatalf("minimize = %q, want %q", got, "AB")
	}
}

func TestMinimizeLowersOperands(t *testing.T) {
	// A disagreement that needs a NEWLIST opcode with a count over 1000
	// followed by a STOP: deleting bytes alone cannot get below the
	// 7fffffff count; lowering it can.
	in := mustHex(t, "4c4b7fffffff514c4c")
	count := func(b []byte) int32 {
		return int32(b[0])<<24 | int32(b[1])<<16 | int32(b[2])<<8 | int32(b[3])
	}
	got := minimize(in, 1000, func(b []byte) bool {
		i := bytes.IndexByte(b, 'K')
		return i >= 0 && i+6 <= len(b) && count(b[i+1:]) > 1000 && b[i+5] == 'Q'
	})
	if len(got) != 6 || got[0] != 'K' || got[5] != 'Q' || count(got[1:]) > 2000 {
		t.Fatalf("minimize = %x, want 4b, a count in (1000, 2000], 51", got)
	}
	t.Logf("minimized %x to %x", in, got)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIntShrinks(t *testing.T) {
	huge, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	for _, tc := range []struct {
		v    codec.Value
		want string // the candidates' reprs, in order
	}{
		{codec.NewBigInt(huge), "0 -1 -2147483648 -2147483649 -9223372036854775808 -9223372036854775809 -12345678901234567890123456789"},
		{codec.Int(3_000_000_000), "0 1 2147483647 2147483648 300000000"},
		{codec.Int(-5), "0 -1"},
		{codec.Int(0), ""},
		{codec.Str("x"), ""},
	} {
		var got []string
		next := intShrinks(tc.v)
		for {
			c, ok := next()
			if !ok {
				break
			}
			got = append(got, codec.Repr(c.(codec.Value)))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("intShrinks(%s) = %q, want %q", codec.Repr(tc.v), strings.Join(got, " "), tc.want)
		}
	}
}
