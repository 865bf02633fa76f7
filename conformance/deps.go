package conformance

// This file is the runner's only contact with the codec, the spec registry
// and the transport, so that each dependency has a single place to adapt.

import (
	"context"
	"fmt"
	"io"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/transport"
	"github.com/execnet-conform/execnet-conform/reference/transport/sshtransport"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
	"github.com/execnet-conform/execnet-conform/spec"
)

// dumps encodes v in the wire form (no version byte).
func dumps(v codec.Value) ([]byte, error) { return codec.Dumps(v) }

// loads decodes one wire-form value with the channel string configuration.
// Strings and bytes share memory with b (frame payloads are fresh buffers
// nobody modifies), so a large payload is not held twice.
func loads(b []byte) (codec.Value, error) {
	d := codec.Decoder{StrConfig: codec.ChannelStrConfig, ZeroCopy: true}
	v, _, err := d.Loads(b)
	return v, err
}

// repr renders v as a Python literal.
func repr(v codec.Value) string { return codec.Repr(v) }

// clauseInfo returns the level and text of a SPEC.md clause.
func clauseInfo(id string) (level, text string, ok bool) {
	c, ok := spec.Lookup(id)
	return c.Level, c.Text, ok
}

// deviationIDs returns the DEV-N ids of SPEC.md Appendix B, or
// ErrNotAvailable when the registry cannot say.
func deviationIDs() ([]string, error) {
	ids, err := spec.DeviationIDs()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotAvailable, err)
	}
	return ids, nil
}

// openTarget starts the target named by o.Target and completes the
// bootstrap handshake, with o's style, bootstrap bound, environment (nil:
// inherit) and ssh settings. workerID, when not empty, is the gateway id
// the bootstrap line gives; writeLine (when not nil) writes the bootstrap
// line of a popen target (see transport.Options.WriteLine).
func openTarget(ctx context.Context, o *Options, stderr io.Writer, workerID string, writeLine func(io.Writer, string) error) (transport.Conn, error) {
	s, err := xspec.Parse(o.Target)
	if err == nil {
		err = s.Validate() // unknown keys (pythn=) are refused, as gateway.Open does
	}
	if err != nil {
		return nil, err
	}
	opts := transport.Options{BootstrapTimeout: o.BootstrapTimeout, Style: o.Style, Stderr: stderr, Env: o.Env, WorkerID: workerID, WriteLine: writeLine}
	// ssh= targets: o.SSH, by default keys from the agent or ~/.ssh and
	// host keys checked against ~/.ssh/known_hosts (or the spec's
	// ssh_key= and insecure_ignore_host_key).
	sshtransport.Register(&opts, o.SSH)
	return transport.Open(ctx, s, opts)
}

// targetKind returns the transport kind of an xspec ("popen", "ssh",
// "socket", ...), or "" when it does not parse.
func targetKind(target string) string {
	s, err := xspec.Parse(target)
	if err != nil {
		return ""
	}
	return s.Kind
}

// targetStyle returns the bootstrap style a target gets: the xspec's
// style= key, else style (Options.Style, never empty here); a socket
// target's server is sent source in the exec style whatever the option.
func targetStyle(target, style string) string {
	s, err := xspec.Parse(target)
	switch {
	case err != nil:
		return style
	case s.Has("style"):
		return s.Style
	case s.Kind == "socket":
		return transport.StyleExec
	}
	return style
}
