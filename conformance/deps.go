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

// openTarget starts the target named by an xspec and completes the
// bootstrap handshake.
// env is the popen worker's environment (nil: inherit).
func openTarget(ctx context.Context, target, style string, bootstrap time.Duration, stderr io.Writer, env []string) (transport.Conn, error) {
	return openTargetWith(ctx, target, style, bootstrap, stderr, env, "", nil)
}

// openTargetWith is openTarget with writeLine (when not nil) writing the
// bootstrap line of a popen target (see transport.Options.WriteLine).
func openTargetWith(ctx context.Context, target, style string, bootstrap time.Duration, stderr io.Writer, env []string, workerID string, writeLine func(io.Writer, string) error) (transport.Conn, error) {
	s, err := xspec.Parse(target)
	if err == nil {
		err = s.Validate() // unknown keys (pythn=) are refused, as gateway.Open does
	}
	if err != nil {
		return nil, err
	}
	opts := transport.Options{BootstrapTimeout: bootstrap, Style: style, Stderr: stderr, Env: env, WorkerID: workerID, WriteLine: writeLine}
	// ssh= targets: keys from the agent or ~/.ssh, host keys checked
	// against ~/.ssh/known_hosts (or the spec's ssh_key= and
	// insecure_ignore_host_key).
	sshtransport.Register(&opts, sshtransport.Defaults{})
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
