// Package rsync implements the receiving side of execnet's rsync channel
// protocol (SPEC.md 12.10): a directory tree sent by execnet's RSync (or
// any sender of the protocol) over one channel is written below a
// destination directory. The Go worker serves it natively when a master
// runs execnet's rsync_remote.py on it.
//
// Unlike execnet's receiver, Receive checks every name and link path it is
// given: nothing outside the destination directory is created, changed or
// removed (CHAN-RSYNC-3), and a directory gets its exact mode only after
// everything below it has been written, so read-only source directories
// arrive with their modes and without failing the copy.
package rsync

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

// Channel is what Receive needs of the protocol's channel.
type Channel interface {
	Send(ctx context.Context, v codec.Value) error
	Receive(ctx context.Context) (codec.Value, error)
}

// ErrProtocol is wrapped by every error about an item that does not fit
// the protocol, and ErrOutside by every name or link path that would lead
// outside the destination directory.
var (
	ErrProtocol = errors.New("rsync: protocol error")
	ErrOutside  = errors.New("rsync: path outside the destination directory")
)

// MaxDepth bounds the nesting of the structure a sender may send.
const MaxDepth = 512

type wanted struct {
	path  string
	rel   string
	mode  int64 // 0: none sent
	mtime float64
	size  int64 // as the structure gave it
}

type receiver struct {
	ctx      context.Context
	ch       Channel
	dest     string
	delete   bool
	modified []wanted
	dirs     []dirMode // exact modes, applied at the end, deepest first
	spool    *spool    // the files the gateway writes (sinks)
}

// spool keeps the temporary files that the gateway writes large contents
// to (receiver.sinks). Each is created next to its destination and
// renamed over it only once its item has arrived whole, so a transfer
// that breaks inside a file leaves the destination's earlier file as it
// was, as the path through memory does. What is left when the transfer
// ends is removed.
type spool struct {
	mu    sync.Mutex
	ended bool
	tmp   map[int]string // item index: temporary file not yet renamed
}

// open creates the temporary file for item i, whose destination is path.
func (sp *spool) open(i int, path string) (*os.File, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.ended {
		return nil, errors.New("rsync: the transfer has ended")
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".rsync-*")
	if err != nil {
		return nil, err
	}
	sp.tmp[i] = f.Name()
	return f, nil
}

// commit renames item i's temporary file over path, or removes it when
// err (the gateway's error writing it) is set.
func (sp *spool) commit(i int, path string, err error) error {
	sp.mu.Lock()
	tmp, ok := sp.tmp[i]
	delete(sp.tmp, i)
	sp.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: the content of %s was written to no file", ErrProtocol, path)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// end removes the temporary files left and refuses new ones.
func (sp *spool) end() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.ended = true
	for _, tmp := range sp.tmp {
		_ = os.Remove(tmp)
	}
	clear(sp.tmp)
}

type dirMode struct {
	path string
	mode uint32
}

// Receive serves one transfer on ch: it reads (destdir, options) and the
// rest of the exchange of SPEC.md 12.10 and returns nil once it has sent
// ("done", None). Errors end the transfer; the caller closes the channel
// with the error text. File contents are written by up to 4 goroutines
// while later items arrive; all of them are written before the links,
// and none is written after Receive returns. When ch is a
// *gateway.Channel, each written item is given back to its gateway
// (Gateway.Recycle), and large contents may be written by the gateway as
// they arrive (Channel.ExpectFiles), each to a temporary file beside its
// destination that replaces it once whole: a transfer that breaks inside
// a file leaves that file's earlier version in place.
func Receive(ctx context.Context, ch Channel) error {
	first, err := ch.Receive(ctx)
	if err != nil {
		return err
	}
	t, ok := first.(codec.Tuple)
	if !ok || len(t) != 2 {
		return fmt.Errorf("%w: the first item is %s, not (destdir, options)", ErrProtocol, codec.Repr(first))
	}
	dest, ok := t[0].(codec.Str)
	if !ok || dest == "" {
		return fmt.Errorf("%w: destdir is %s, not text", ErrProtocol, codec.Repr(t[0]))
	}
	r := &receiver{ctx: ctx, ch: ch, dest: filepath.Clean(string(dest))}
	if gc, ok := ch.(*gateway.Channel); ok && gc.Gateway().CanReceiveFiles() {
		// The sender answers requests while the structure is read here:
		// a large content item that comes before contents() says where
		// it goes waits for that (a short while), rather than being read
		// into memory.
		gc.ExpectFilesSoon()
		defer gc.ExpectFiles(nil)
	}
	if opts, ok := t[1].(*codec.Dict); ok {
		if v, ok := opts.Get(codec.Str("delete")); ok {
			r.delete = truthy(v)
		}
	} else if _, none := t[1].(codec.None); !none {
		return fmt.Errorf("%w: options are %s, not a dict", ErrProtocol, codec.Repr(t[1]))
	}
	if err := r.structure(r.dest, nil, 0); err != nil {
		return err
	}
	if err := r.send(codec.Tuple{codec.Str("list_done"), codec.None{}}); err != nil {
		return err
	}
	if err := r.contents(); err != nil {
		return err
	}
	if err := r.send(codec.Tuple{codec.Str("links"), codec.None{}}); err != nil {
		return err
	}
	if err := r.links(); err != nil {
		return err
	}
	for i := len(r.dirs) - 1; i >= 0; i-- {
		_ = syscall.Chmod(r.dirs[i].path, r.dirs[i].mode)
	}
	return r.send(codec.Tuple{codec.Str("done"), codec.None{}})
}

func (r *receiver) send(v codec.Value) error { return r.ch.Send(r.ctx, v) }

// writers is the number of goroutines writing files: creating a file
// costs more in the kernel than the protocol costs here, and several
// files are created faster at once than one after the other.
const writers = 4

// content is one received file content to write.
type content struct {
	w    wanted
	data codec.Value // bytes, or None: keep the file's content
}

// contents receives the content of every file asked for, acknowledges
// each at once (as execnet's receiver does, before writing it), and
// hands it to one of the writers: always the same one for a path, so
// that a path named twice is written in order. It returns once every
// file has been written, with the first error.
func (r *receiver) contents() error {
	ctx, cancel := context.WithCancelCause(r.ctx)
	defer cancel(nil)
	var recycle func(codec.Value)
	if gc, ok := r.ch.(*gateway.Channel); ok {
		recycle = gc.Gateway().Recycle
		if gc.Gateway().CanReceiveFiles() {
			r.spool = &spool{tmp: map[int]string{}}
			defer r.spool.end()
			gc.ExpectFiles(r.sinks())
		}
	}
	var wg sync.WaitGroup
	queues := make([]chan content, writers)
	for i := range queues {
		queues[i] = make(chan content, 4)
		wg.Add(1)
		go func(q chan content) {
			defer wg.Done()
			for c := range q {
				if ctx.Err() == nil {
					if err := writeContent(c.w, c.data); err != nil {
						cancel(err)
					}
				}
				if recycle != nil {
					recycle(c.data) // written and dropped
				}
			}
		}(queues[i])
	}
	err := r.receiveContents(ctx, queues)
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	if err == nil {
		err = context.Cause(ctx)
	} else if c := context.Cause(ctx); c != nil && ctx.Err() != nil && r.ctx.Err() == nil {
		err = c // a write failed, and the wait for the next item ended
	}
	return err
}

func (r *receiver) receiveContents(ctx context.Context, queues []chan content) error {
	for i, w := range r.modified {
		data, err := r.ch.Receive(ctx)
		if err != nil {
			return err
		}
		if err := r.send(codec.Tuple{codec.Str("ack"), codec.Str(w.rel)}); err != nil {
			return err
		}
		switch d := data.(type) {
		case codec.Bytes, codec.None:
		case *gateway.FileItem:
			// The gateway wrote the content to item i's temporary file.
			if r.spool == nil {
				return fmt.Errorf("%w: the content of %s was written to no file", ErrProtocol, w.rel)
			}
			if err := r.spool.commit(i, w.path, d.Err); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: content of %s is %s, not bytes", ErrProtocol, w.rel, d.Kind())
		}
		h := fnv.New32a()
		_, _ = h.Write([]byte(w.path))
		select {
		case queues[h.Sum32()%uint32(len(queues))] <- content{w, data}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

// sinks are the files the gateway may write the content items to as they
// arrive (gateway.Channel.ExpectFiles): one for each large file asked
// for, in request order, unless its path was asked for twice (its items
// are then written in order by one writer).
func (r *receiver) sinks() []gateway.FileSink {
	seen := map[string]int{}
	for _, w := range r.modified {
		seen[w.path]++
	}
	sinks := make([]gateway.FileSink, len(r.modified))
	for i, w := range r.modified {
		if w.size >= sinkMin && seen[w.path] == 1 {
			path := w.path
			sinks[i] = gateway.FileSink{Size: w.size, Open: func() (*os.File, error) { return r.spool.open(i, path) }}
		}
	}
	return sinks
}

// sinkMin is the smallest file the gateway is asked to write itself.
const sinkMin = 256 << 10

// writeContent writes one file (unless data is None, or a
// *gateway.FileItem: written already) and applies its mode and
// modification time.
func writeContent(w wanted, data codec.Value) error {
	if d, ok := data.(codec.Bytes); ok {
		if err := writeFile(w.path, d); err != nil {
			return err
		}
	}
	if w.mode != 0 {
		_ = syscall.Chmod(w.path, uint32(w.mode&0o7777))
	}
	if !math.IsNaN(w.mtime) && !math.IsInf(w.mtime, 0) {
		sec, frac := math.Modf(w.mtime)
		ts := time.Unix(int64(sec), int64(math.Round(frac*1e9)))
		_ = os.Chtimes(w.path, ts, ts)
	}
	return nil
}

func truthy(v codec.Value) bool {
	switch x := v.(type) {
	case codec.Bool:
		return bool(x)
	case codec.Int:
		return x != 0
	case codec.None:
		return false
	}
	return v != nil
}

// checkName accepts one directory entry name.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%w: entry name %q", ErrOutside, name)
	}
	return nil
}

// inside joins a relative path below dest, refusing absolute paths and
// ".." components.
func (r *receiver) inside(rel string) (string, error) {
	if rel == "" || filepath.IsAbs(rel) || strings.Contains(rel, "\x00") {
		return "", fmt.Errorf("%w: %q", ErrOutside, rel)
	}
	for _, c := range strings.Split(filepath.ToSlash(rel), "/") {
		if c == ".." {
			return "", fmt.Errorf("%w: %q", ErrOutside, rel)
		}
	}
	return filepath.Join(r.dest, rel), nil
}

func intOf(v codec.Value) (int64, bool) {
	switch x := v.(type) {
	case codec.Int:
		return int64(x), true
	case codec.None:
		return 0, true
	}
	return 0, false
}

func floatOf(v codec.Value) (float64, bool) {
	switch x := v.(type) {
	case codec.Float:
		return float64(x), true
	case codec.Int:
		return float64(x), true
	}
	return 0, false
}

// pyMtime is a file's st_mtime as CPython computes it.
func pyMtime(fi fs.FileInfo) float64 {
	t := fi.ModTime()
	return float64(t.Unix()) + float64(t.Nanosecond())*1e-9
}

func (r *receiver) structure(path string, comps []string, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("%w: the structure nests deeper than %d", ErrProtocol, MaxDepth)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		fi = nil
	}
	msg, err := r.ch.Receive(r.ctx)
	if err != nil {
		return err
	}
	switch m := msg.(type) {
	case codec.List:
		if len(m) == 0 {
			return fmt.Errorf("%w: a directory item without a mode", ErrProtocol)
		}
		if fi != nil && !fi.IsDir() {
			if err := os.Remove(path); err != nil {
				return err
			}
			fi = nil
		}
		if fi == nil {
			if err := os.MkdirAll(path, 0o700); err != nil {
				return err
			}
		}
		mode, ok := intOf(m[0])
		if !ok {
			return fmt.Errorf("%w: directory mode %s", ErrProtocol, codec.Repr(m[0]))
		}
		if mode != 0 {
			// Writable and searchable while the tree is written; the
			// exact mode comes at the end.
			_ = syscall.Chmod(path, uint32(mode&0o7777)|0o700)
			r.dirs = append(r.dirs, dirMode{path, uint32(mode & 0o7777)})
		}
		names := map[string]bool{}
		for _, e := range m[1:] {
			name, ok := e.(codec.Str)
			if !ok {
				return fmt.Errorf("%w: entry name %s is not text", ErrProtocol, codec.Repr(e))
			}
			if err := checkName(string(name)); err != nil {
				return err
			}
			names[string(name)] = true
			sub := append(append([]string(nil), comps...), string(name))
			if err := r.structure(filepath.Join(path, string(name)), sub, depth+1); err != nil {
				return err
			}
		}
		if r.delete {
			entries, err := os.ReadDir(path)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if !names[e.Name()] {
					if err := os.RemoveAll(filepath.Join(path, e.Name())); err != nil {
						return err
					}
				}
			}
		}
		return nil
	case codec.Tuple:
		if len(m) != 3 || len(comps) == 0 {
			return fmt.Errorf("%w: file item %s", ErrProtocol, codec.Repr(m))
		}
		mode, ok1 := intOf(m[0])
		mtime, ok2 := floatOf(m[1])
		size, ok3 := intOf(m[2])
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("%w: file item %s", ErrProtocol, codec.Repr(m))
		}
		var checksum codec.Value = codec.None{}
		if fi != nil {
			if fi.Mode().IsRegular() {
				switch {
				case size != fi.Size():
				case mtime != pyMtime(fi):
					sum, err := md5File(path)
					if err != nil {
						return err
					}
					checksum = codec.Bytes(sum)
				case mode != 0 && mode != int64(statMode(fi)):
					_ = syscall.Chmod(path, uint32(mode&0o7777))
					return nil
				default:
					return nil // already fine
				}
			} else if err := os.RemoveAll(path); err != nil {
				return err
			}
		}
		cl := make(codec.List, len(comps))
		for i, c := range comps {
			cl[i] = codec.Str(c)
		}
		if err := r.send(codec.Tuple{codec.Str("send"), codec.Tuple{cl, checksum}}); err != nil {
			return err
		}
		r.modified = append(r.modified, wanted{path: path, rel: strings.Join(comps, "/"), mode: mode, mtime: mtime, size: size})
		return nil
	case codec.None:
		return nil // a symbolic link: it comes with the links
	}
	return fmt.Errorf("%w: structure item %s", ErrProtocol, codec.Repr(msg))
}

func statMode(fi fs.FileInfo) uint32 {
	if m, ok := rawMode(fi); ok {
		return m
	}
	return uint32(fi.Mode().Perm())
}

func md5File(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := md5.Sum(b)
	return s[:], nil
}

func writeFile(path string, data []byte) error {
	f, err := createFile(path)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// createFile opens path for writing as os.WriteFile does (created with
// mode 0600, or truncated). A read-only file from an earlier copy is
// replaced, not refused.
func createFile(path string) (*os.File, error) {
	const flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	f, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, fs.ErrPermission) {
		if fi, serr := os.Lstat(path); serr == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o200 == 0 {
			_ = os.Chmod(path, fi.Mode().Perm()|0o200)
			f, err = os.OpenFile(path, flags, 0o600)
		}
	}
	return f, err
}

func (r *receiver) links() error {
	for {
		msg, err := r.ch.Receive(r.ctx)
		if err != nil {
			return err
		}
		if n, ok := msg.(codec.Int); ok && n == 42 {
			return nil
		}
		t, ok := msg.(codec.Tuple)
		if !ok || len(t) != 3 {
			return fmt.Errorf("%w: link item %s", ErrProtocol, codec.Repr(msg))
		}
		kind, ok1 := t[0].(codec.Str)
		rel, ok2 := t[1].(codec.Str)
		point, ok3 := t[2].(codec.Str)
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("%w: link item %s", ErrProtocol, codec.Repr(msg))
		}
		path, err := r.inside(string(rel))
		if err != nil {
			return err
		}
		target := string(point)
		switch kind {
		case "linkbase":
			t, err := r.inside(target)
			if err != nil {
				return err
			}
			target = t
		case "link":
		default:
			return fmt.Errorf("%w: link kind %q", ErrProtocol, string(kind))
		}
		// The link's directory must really be below dest: an earlier
		// link must not lead this one outside.
		if err := r.realParentInside(path); err != nil {
			return err
		}
		if err := os.RemoveAll(path); err != nil {
			return err
		}
		if err := os.Symlink(target, path); err != nil {
			return err
		}
	}
}

// realParentInside checks that path's directory, with symbolic links
// resolved, is dest or below it.
func (r *receiver) realParentInside(path string) error {
	root, err := filepath.EvalSymlinks(r.dest)
	if err != nil {
		return err
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrOutside, path, err)
	}
	if dir != root && !strings.HasPrefix(dir, root+string(filepath.Separator)) {
		return fmt.Errorf("%w: %s leads to %s", ErrOutside, path, dir)
	}
	return nil
}
