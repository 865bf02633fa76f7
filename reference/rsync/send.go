package rsync

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// Event is one progress report of Sender.Send, as execnet's RSync
// callback gets them: Kind "list" with the total size of the files a
// target asked for, then "ack" with the size of each file it received.
type Event struct {
	Kind   string // "list" or "ack"
	Size   int64
	Target int // index of the target, in AddTarget order
	Path   string
}

// Sender copies a directory tree to one or more targets at once over
// channels, as execnet's RSync does (SPEC.md 12.10). The zero value is
// not usable; call NewSender.
type Sender struct {
	source   string
	callback func(Event)
	filter   func(path string) bool
	targets  []*gateway.Channel
	receiver string // the receiver source sent to each target
}

// SenderOption configures a Sender.
type SenderOption func(*Sender)

// WithCallback sets the progress callback; it is called from the
// goroutines serving the targets, one at a time per target.
func WithCallback(f func(Event)) SenderOption { return func(s *Sender) { s.callback = f } }

// WithFilter leaves out every path for which f returns false (and what is
// below a left-out directory), as overriding RSync.filter does.
func WithFilter(f func(path string) bool) SenderOption { return func(s *Sender) { s.filter = f } }

// WithReceiverSource sets the receiver source sent to targets. By default
// it is execnet's rsync_remote.py from the installation that
// transport.LocateGatewayBase finds; the Go worker recognises it.
func WithReceiverSource(src string) SenderOption { return func(s *Sender) { s.receiver = src } }

// NewSender returns a Sender for the tree at source.
func NewSender(source string, opts ...SenderOption) *Sender {
	s := &Sender{source: filepath.Clean(source)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// AddTarget starts the receiver on g for the destination directory dest
// (with delete, extra entries there are removed).
func (s *Sender) AddTarget(ctx context.Context, g *gateway.Gateway, dest string, delete bool) error {
	if s.receiver == "" {
		p, err := transport.LocateGatewayBase(ctx)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(filepath.Dir(p), "rsync_remote.py"))
		if err != nil {
			return fmt.Errorf("rsync: the receiver source (set WithReceiverSource): %w", err)
		}
		s.receiver = string(b)
	}
	ch, err := g.RemoteExec(ctx, gateway.Exec{Source: s.receiver})
	if err != nil {
		return err
	}
	if err := ch.Reconfigure(false, false); err != nil {
		return err
	}
	opts := &codec.Dict{}
	if delete {
		_ = opts.Set(codec.Str("delete"), codec.Bool(true))
	}
	if err := ch.Send(ctx, codec.Tuple{codec.Str(dest), opts}); err != nil {
		return err
	}
	s.targets = append(s.targets, ch)
	return nil
}

type link struct{ kind, rel, point string }

// Send sends the tree to every target and serves their requests until
// each has sent "done" and ended its execution. It returns the errors of
// the targets that failed, joined.
func (s *Sender) Send(ctx context.Context) error {
	if len(s.targets) == 0 {
		return errors.New("rsync: no targets (AddTarget first)")
	}
	var links []link
	if err := s.structure(ctx, s.source, &links); err != nil {
		return err
	}
	errs := make([]error, len(s.targets))
	var wg sync.WaitGroup
	for i, ch := range s.targets {
		wg.Add(1)
		go func(i int, ch *gateway.Channel) {
			defer wg.Done()
			errs[i] = s.serve(ctx, i, ch, links)
		}(i, ch)
	}
	wg.Wait()
	s.targets = nil
	return errors.Join(errs...)
}

func (s *Sender) broadcast(ctx context.Context, v codec.Value) error {
	for _, ch := range s.targets {
		if err := ch.Send(ctx, v); err != nil {
			return err
		}
	}
	return nil
}

// pyStat returns st_mode and st_mtime as CPython reports them.
func pyStat(fi fs.FileInfo) (int64, float64) {
	mode := int64(fi.Mode().Perm())
	if m, ok := rawMode(fi); ok {
		mode = int64(m)
	}
	return mode, pyMtime(fi)
}

func (s *Sender) structure(ctx context.Context, path string, links *[]link) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return s.broadcast(ctx, codec.Tuple{codec.None{}, codec.Int(0), codec.Int(0)})
	}
	mode, mtime := pyStat(fi)
	switch {
	case fi.Mode().IsRegular():
		return s.broadcast(ctx, codec.Tuple{codec.Int(mode), codec.Float(mtime), codec.Int(fi.Size())})
	case fi.IsDir():
		ents, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		var names []string
		for _, e := range ents {
			if s.filter == nil || s.filter(filepath.Join(path, e.Name())) {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		item := codec.List{codec.Int(mode)}
		for _, n := range names {
			item = append(item, codec.Str(n))
		}
		if err := s.broadcast(ctx, item); err != nil {
			return err
		}
		for _, n := range names {
			if err := s.structure(ctx, filepath.Join(path, n), links); err != nil {
				return err
			}
		}
		return nil
	case fi.Mode()&fs.ModeSymlink != 0:
		point, err := os.Readlink(path)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(path[len(s.source):], string(filepath.Separator))
		if strings.HasPrefix(point, s.source) {
			*links = append(*links, link{"linkbase", rel, strings.TrimPrefix(point[len(s.source):], string(filepath.Separator))})
		} else {
			*links = append(*links, link{"link", rel, point})
		}
		return s.broadcast(ctx, codec.None{})
	}
	return fmt.Errorf("rsync: cannot copy %s (%s)", path, fi.Mode().Type())
}

// serve answers one target's requests (CHAN-RSYNC-2).
func (s *Sender) serve(ctx context.Context, idx int, ch *gateway.Channel, links []link) error {
	sizes := map[string]int64{}
	var asked []string
	for {
		v, err := ch.Receive(ctx)
		if err != nil {
			return fmt.Errorf("rsync target %d: %w", idx, err)
		}
		req, ok := v.(codec.Tuple)
		if !ok || len(req) != 2 {
			return fmt.Errorf("rsync target %d: %w: request %s", idx, ErrProtocol, codec.Repr(v))
		}
		cmd, _ := req[0].(codec.Str)
		switch cmd {
		case "send":
			arg, ok := req[1].(codec.Tuple)
			if !ok || len(arg) != 2 {
				return fmt.Errorf("rsync target %d: %w: send request %s", idx, ErrProtocol, codec.Repr(v))
			}
			comps, ok := arg[0].(codec.List)
			if !ok {
				return fmt.Errorf("rsync target %d: %w: send request %s", idx, ErrProtocol, codec.Repr(v))
			}
			parts := make([]string, len(comps))
			for i, c := range comps {
				cs, ok := c.(codec.Str)
				if !ok || checkName(string(cs)) != nil {
					return fmt.Errorf("rsync target %d: %w: asks for %s", idx, ErrOutside, codec.Repr(v))
				}
				parts[i] = string(cs)
			}
			rel := strings.Join(parts, "/")
			var out codec.Value = codec.None{}
			data, err := os.ReadFile(filepath.Join(append([]string{s.source}, parts...)...))
			if err == nil {
				sizes[rel] = int64(len(data))
				sum := md5.Sum(data)
				if cs, ok := arg[1].(codec.Bytes); !ok || string(cs) != string(sum[:]) {
					out = codec.Bytes(data)
				}
			} else {
				sizes[rel] = 0
			}
			asked = append(asked, rel)
			if err := ch.Send(ctx, out); err != nil {
				return err
			}
		case "list_done":
			if s.callback != nil {
				var total int64
				for _, p := range asked {
					total += sizes[p]
				}
				s.callback(Event{Kind: "list", Size: total, Target: idx})
			}
		case "ack":
			p, _ := req[1].(codec.Str)
			if s.callback != nil {
				s.callback(Event{Kind: "ack", Size: sizes[string(p)], Target: idx, Path: string(p)})
			}
		case "links":
			for _, l := range links {
				if err := ch.Send(ctx, codec.Tuple{codec.Str(l.kind), codec.Str(l.rel), codec.Str(l.point)}); err != nil {
					return err
				}
			}
			if err := ch.Send(ctx, codec.Int(42)); err != nil {
				return err
			}
		case "done":
			return ch.WaitClose(ctx)
		default:
			return fmt.Errorf("rsync target %d: %w: request %s", idx, ErrProtocol, codec.Repr(v))
		}
	}
}
