package rsync

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// script is a Channel that hands out a fixed list of items and records
// what the receiver sends.
type script struct {
	in   []codec.Value
	sent []codec.Value
}

func (s *script) Send(_ context.Context, v codec.Value) error { s.sent = append(s.sent, v); return nil }

func (s *script) Receive(context.Context) (codec.Value, error) {
	if len(s.in) == 0 {
		return nil, io.EOF
	}
	v := s.in[0]
	s.in = s.in[1:]
	return v, nil
}

func start(dest string, delete bool) codec.Value {
	d := &codec.Dict{}
	_ = d.Set(codec.Str("delete"), codec.Bool(delete))
	return codec.Tuple{codec.Str(dest), d}
}

// TestReceiveRefusesPathsOutside feeds hostile structures and links: none
// may touch anything outside the destination (CHAN-RSYNC-3), each ends
// with ErrOutside.
func TestReceiveRefusesPathsOutside(t *testing.T) {
	for name, items := range map[string][]codec.Value{
		"dotdot entry":  {codec.List{codec.Int(0o40755), codec.Str("..")}},
		"slash entry":   {codec.List{codec.Int(0o40755), codec.Str("a/../../x")}},
		"absolute link": {codec.List{codec.Int(0o40755)}, codec.Tuple{codec.Str("link"), codec.Str("/tmp/evil"), codec.Str("x")}},
		"dotdot link":   {codec.List{codec.Int(0o40755)}, codec.Tuple{codec.Str("link"), codec.Str("../evil"), codec.Str("x")}},
		"linkbase out":  {codec.List{codec.Int(0o40755)}, codec.Tuple{codec.Str("linkbase"), codec.Str("l"), codec.Str("../../etc")}},
		"through link": {codec.List{codec.Int(0o40755)},
			codec.Tuple{codec.Str("link"), codec.Str("d"), codec.Str("OUTSIDE")},
			codec.Tuple{codec.Str("link"), codec.Str("d/evil"), codec.Str("x")}},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			dest := filepath.Join(root, "dest")
			outside := filepath.Join(root, "outside")
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			in := append([]codec.Value{start(dest, true)}, items...)
			for i, v := range in {
				if tu, ok := v.(codec.Tuple); ok && len(tu) == 3 && tu[2] == codec.Str("OUTSIDE") {
					in[i] = codec.Tuple{tu[0], tu[1], codec.Str(outside)}
				}
			}
			err := Receive(context.Background(), &script{in: in})
			if !errors.Is(err, ErrOutside) {
				t.Fatalf("Receive: %v, want ErrOutside", err)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("something was created outside: %v", ents)
			}
			if ents, _ := os.ReadDir(root); len(ents) != 2 {
				t.Fatalf("root holds %d entries, want dest and outside", len(ents))
			}
		})
	}
}

// TestReceiveProtocolErrors feeds items of the wrong shape.
func TestReceiveProtocolErrors(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "d")
	for name, in := range map[string][]codec.Value{
		"first not a tuple": {codec.Str("x")},
		"dest not text":     {codec.Tuple{codec.Int(1), codec.None{}}},
		"empty dir list":    {start(dest, false), codec.List{}},
		"bad file item":     {start(dest, false), codec.List{codec.Int(0o40755), codec.Str("f")}, codec.Tuple{codec.Str("a")}},
		"bad structure":     {start(dest, false), codec.Int(7)},
	} {
		if err := Receive(context.Background(), &script{in: in}); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v, want ErrProtocol", name, err)
		}
	}
}

// TestReceiveReplacesReadOnlyFile: a read-only file left by an earlier
// copy is rewritten with the new content and gets the sent mode.
func TestReceiveReplacesReadOnlyFile(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "d")
	if err := os.MkdirAll(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dest, "f")
	if err := os.WriteFile(f, []byte("old content"), 0o444); err != nil {
		t.Fatal(err)
	}
	s := &script{in: []codec.Value{
		start(dest, false),
		codec.List{codec.Int(0o40755), codec.Str("f")},
		codec.Tuple{codec.Int(0o100640), codec.Float(1e9), codec.Int(3)},
		codec.Bytes("new"),
		codec.Int(42),
	}}
	if err := Receive(context.Background(), s); err != nil {
		t.Fatalf("Receive: %v (sent %v)", err, s.sent)
	}
	b, err := os.ReadFile(f)
	fi, _ := os.Stat(f)
	if err != nil || string(b) != "new" || fi.Mode().Perm() != 0o640 {
		t.Fatalf("file is %q (%v), mode %v; want \"new\", 0640", b, err, fi.Mode())
	}
	if len(s.sent) != 5 || codec.Repr(s.sent[4]) != "('done', None)" {
		t.Fatalf("sent %d items, last %s", len(s.sent), codec.Repr(s.sent[len(s.sent)-1]))
	}
}
