package fuzz

import (
	"encoding/hex"
	"strings"
	"testing"
)

// mustHex decodes hex, ignoring spaces.
func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatalf("bad seed hex %q: %v", s, err)
	}
	return b
}
