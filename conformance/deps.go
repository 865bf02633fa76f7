package conformance

// This file is the runner's only contact with the codec, the spec registry
// and the transport, so that each dependency has a single place to adapt.

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
)

// dumps encodes v in the wire form (no version byte).
func dumps(v codec.Value) ([]byte, error) { return codec.Dumps(v) }

// loads decodes one wire-form value with the channel string configuration.
func loads(b []byte) (codec.Value, error) { return codec.Loads(b) }

// repr renders v as a Python literal.
func repr(v codec.Value) string { return codec.Repr(v) }

// clauseInfo returns the level and text of a SPEC.md clause.
func clauseInfo(id string) (level, text string, ok bool) { return "", "", false }

// specClauseIDs returns every clause of SPEC.md with its level.
func specClauses() ([]ClauseRef, error) {
	return nil, fmt.Errorf("spec.Clauses: %w", ErrNotAvailable)
}

// deviationIDs returns the DEV-N ids of SPEC.md Appendix B, or
// ErrNotAvailable when the registry cannot say.
func deviationIDs() ([]string, error) {
	return nil, fmt.Errorf("spec.DeviationIDs: %w", ErrNotAvailable)
}

// openTarget starts the target named by an xspec and completes the
// bootstrap handshake.
func openTarget(ctx context.Context, spec, style string, bootstrap time.Duration, stderr io.Writer) (transport.Conn, error) {
	s, err := xspec.Parse(spec)
	if err != nil {
		return nil, err
	}
	return transport.Open(ctx, s, transport.Options{BootstrapTimeout: bootstrap, Style: style, Stderr: stderr})
}

// ClauseRef names one SPEC.md clause and its level.
type ClauseRef struct {
	ID    string
	Level string
}
