package conformance

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestDescribeEncodingMismatch(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want string // hex
		lines     []string
	}{
		{"equal", "4600000001" + "51", "4600000001" + "51", nil},
		{"float byte order", "44000000000000f83f51", "443ff800000000000051", []string{
			"first differing byte at offset 1: got 00, want 3f (got 10 bytes, want 10)",
			"  got  [0:]: 44[00]0000000000f83f51",
			"  want [0:]: 44[3f]f800000000000051",
			"  got  decoded: 3.13984e-319",
			"  want decoded: 1.5",
		}},
		{"got is short", "4600000001", "460000000151", []string{
			"got 5 bytes, want 6: got is a prefix of want, first missing byte at offset 5",
			"  got  [0:]: 4600000001[end]",
			"  want [0:]: 4600000001[51]",
			"  got  decoded: (does not decode: ",
			"  want decoded: 1",
		}},
		{"got is long", "46000000015151", "460000000151", []string{
			"want is a prefix of got, first extra byte at offset 6",
			"  got  decoded: 1 (then 1 trailing bytes)",
		}},
		{"late difference",
			"4b00000004460000000046000000015046000000014600000001504600000002460000000350460000000346000000045051",
			"4b00000004460000000046000000015046000000014600000001504600000002460000000250460000000346000000045051", []string{
				"first differing byte at offset 36: got 03, want 02",
				"  got  [24:]: 000150460000000246000000[03]5046000000034600000004... (+2 bytes)",
				"  got  decoded: [1, 1, 3, 4]",
				"  want decoded: [1, 1, 2, 4]",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DescribeEncodingMismatch(mustHexT(t, tc.got), mustHexT(t, tc.want))
			if tc.lines == nil {
				if got != "" {
					t.Fatalf("equal encodings: got %q, want \"\"", got)
				}
				return
			}
			for _, l := range tc.lines {
				if !strings.Contains(got, l) {
					t.Errorf("missing %q in:\n%s", l, got)
				}
			}
		})
	}
}

func mustHexT(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
