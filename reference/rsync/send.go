package rsync

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

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
	// sizes holds the size of each regular file the structure listed,
	// by path: what the read-ahead budgets for, without a stat.
	sizes map[string]int64
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
// the targets that failed, joined. For each target it reads the files
// asked for ahead of sending them: up to 4 at once and 128 MiB of
// content not yet sent (a larger file is read alone).
func (s *Sender) Send(ctx context.Context) error {
	if len(s.targets) == 0 {
		return errors.New("rsync: no targets (AddTarget first)")
	}
	var links []link
	s.sizes = map[string]int64{}
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
		s.sizes[path] = fi.Size()
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

// Bounds of the read-ahead of Sender.serve.
const (
	// readAheadFiles is the number of files read at once for one target.
	readAheadFiles = 4
	// readAheadBudget bounds, in MiB, the content read for one target
	// and not yet sent; a larger file is read alone.
	readAheadBudget = 128
	// inlineMax: a file smaller than this is read and answered at once
	// when no earlier answer is queued.
	inlineMax = 256 << 10
	// queuedJobs is how many requests wait for a reader before serve
	// stops taking items from the channel (the gateway keeps queueing).
	queuedJobs = 64
	// directMin: a file of at least this size, asked for without a
	// checksum, is sent from the file itself where the gateway can
	// (gateway.Gateway.CanSendFile), taking none of the read-ahead
	// budget.
	directMin = 256 << 10
)

// fileJob is the answer to one "send" request: read by a reader
// goroutine ahead of time, sent by the sending goroutine in request order.
type fileJob struct {
	rel      string
	path     string
	checksum []byte        // nil: the receiver sent none
	ready    chan struct{} // closed once out and size are set
	out      codec.Value   // the content as bytes, or None
	size     int64         // bytes read, for the callbacks (0 if unreadable)
	buf      []byte        // the buffer holding out, returned to the pool after sending
	weight   int           // MiB of the budget held until sent
	// direct: the content goes from the file to the channel
	// (gateway.Channel.SendFile) instead of being read; load then opens
	// file instead of setting out, unless the file cannot be opened.
	direct bool
	file   *os.File
}

// bufPool is a small free list of content buffers of one target.
type bufPool struct {
	mu    sync.Mutex
	free  [][]byte
	bytes int // capacity kept, at most readAheadBudget MiB
}

func (p *bufPool) get(n int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, b := range p.free {
		if cap(b) >= n && cap(b) <= 2*n+4096 {
			p.free = append(p.free[:i], p.free[i+1:]...)
			p.bytes -= cap(b)
			return b[:0]
		}
	}
	return make([]byte, 0, n)
}

func (p *bufPool) put(b []byte) {
	if cap(b) < 64<<10 {
		return // small contents are copied into the send queue anyway
	}
	p.mu.Lock()
	if len(p.free) < readAheadFiles+1 && p.bytes+cap(b) <= readAheadBudget<<20 {
		p.free = append(p.free, b)
		p.bytes += cap(b)
	}
	p.mu.Unlock()
}

// readContent reads path into a buffer from pool, as os.ReadFile would.
func readContent(path string, pool *bufPool) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := 512
	if fi, err := f.Stat(); err == nil && fi.Size() < 1<<31 {
		size = int(fi.Size()) + 1 // one more, to see the end in one read
	}
	b := pool.get(size)
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				return b, nil
			}
			pool.put(b)
			return nil, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// load reads the job's file, sets out and size, and closes ready.
func (j *fileJob) load(pool *bufPool) {
	defer close(j.ready)
	j.out = codec.None{}
	if j.direct {
		if f, err := os.Open(j.path); err == nil {
			if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
				j.file, j.size, j.out = f, fi.Size(), nil
				return
			}
			f.Close()
		}
		// Not a regular file, or gone: read as below, which answers
		// what execnet's sender would.
	}
	data, err := readContent(j.path, pool)
	if err != nil {
		return // unreadable: None, as execnet sends
	}
	j.size = int64(len(data))
	if j.checksum != nil {
		if sum := md5.Sum(data); string(sum[:]) == string(j.checksum) {
			pool.put(data)
			return // the receiver has this content
		}
	}
	j.out, j.buf = codec.Bytes(data), data
}

// serve answers one target's requests (CHAN-RSYNC-2). The receiver asks
// for every file it needs while it reads the structure, before it reads
// any content, so the answers are pipelined: readers fetch the files of
// the next requests (up to readAheadFiles at once, and readAheadBudget
// MiB of content not yet sent) while a sending goroutine writes the
// earlier ones to the channel, in request order.
func (s *Sender) serve(ctx context.Context, idx int, ch *gateway.Channel, links []link) (err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	jobs := make(chan *fileJob, queuedJobs)    // requests, in order
	ordered := make(chan *fileJob, queuedJobs) // started reads, in order
	budget := make(chan struct{}, readAheadBudget)
	var pool bufPool
	var outstanding atomic.Int64 // jobs queued and not yet sent
	// direct: large contents go from the file to the channel without
	// being read here (gateway.Channel.SendFile).
	direct := ch.Gateway().CanSendFile()
	var wg sync.WaitGroup
	var asked []*fileJob // every request, in order
	closed := false
	finish := func() {
		if !closed {
			closed = true
			close(jobs)
		}
	}
	defer func() {
		if err != nil {
			cancel(err)
		}
		finish()
		wg.Wait()
		cancel(nil)
		for _, j := range asked {
			if j.file != nil { // opened and never sent: the transfer failed
				j.file.Close()
			}
		}
	}()
	wg.Add(2)
	go func() { // dispatcher: takes budget in request order, starts reads
		defer wg.Done()
		defer close(ordered)
		readers := make(chan struct{}, readAheadFiles)
		for j := range jobs {
			size, ok := s.sizes[j.path]
			if !ok {
				if fi, err := os.Stat(j.path); err == nil {
					size = fi.Size()
				}
			}
			j.direct = direct && j.checksum == nil && size >= directMin
			if !j.direct {
				j.weight = int(min((size+1<<20-1)>>20, readAheadBudget))
			}
			for range j.weight {
				select {
				case budget <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
			select {
			case readers <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func(j *fileJob) {
				defer wg.Done()
				defer func() { <-readers }()
				j.load(&pool)
			}(j)
			select {
			case ordered <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { // sender: answers in request order
		defer wg.Done()
		for j := range ordered {
			select {
			case <-j.ready:
			case <-ctx.Done():
				return
			}
			var err error
			if j.file != nil {
				err = ch.SendFile(ctx, j.file, 0, j.size)
				j.file.Close()
				j.file = nil
			} else {
				err = ch.Send(ctx, j.out)
			}
			if err != nil {
				cancel(fmt.Errorf("rsync target %d: %w", idx, err))
				return
			}
			if j.buf != nil {
				pool.put(j.buf)
				j.buf = nil
			}
			for range j.weight {
				<-budget
			}
			outstanding.Add(-1)
		}
	}()
	byRel := map[string]*fileJob{}
	for {
		v, err := ch.Receive(ctx)
		if err != nil {
			if c := context.Cause(ctx); c != nil && c != ctx.Err() {
				return c
			}
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
			j := &fileJob{rel: strings.Join(parts, "/"), path: filepath.Join(append([]string{s.source}, parts...)...),
				ready: make(chan struct{})}
			if cs, ok := arg[1].(codec.Bytes); ok {
				j.checksum = append([]byte{}, cs...)
			}
			if closed {
				return fmt.Errorf("rsync target %d: %w: a send request after links", idx, ErrProtocol)
			}
			byRel[j.rel] = j
			asked = append(asked, j)
			if outstanding.Load() == 0 {
				// Nothing queued: a small file is answered at once, from
				// here (a reply right after the request, which the
				// gateway writes without a hand-off).
				if size, ok := s.sizes[j.path]; !ok || size < inlineMax {
					j.load(&pool)
					if err := ch.Send(ctx, j.out); err != nil {
						return fmt.Errorf("rsync target %d: %w", idx, err)
					}
					if j.buf != nil {
						pool.put(j.buf)
						j.buf = nil
					}
					continue
				}
			}
			outstanding.Add(1)
			select {
			case jobs <- j:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		case "list_done":
			if s.callback != nil {
				var total int64
				for _, j := range asked {
					select {
					case <-j.ready:
					case <-ctx.Done():
						return context.Cause(ctx)
					}
					total += j.size
				}
				s.callback(Event{Kind: "list", Size: total, Target: idx})
			}
		case "ack":
			p, _ := req[1].(codec.Str)
			if s.callback != nil {
				var size int64
				if j := byRel[string(p)]; j != nil {
					select {
					case <-j.ready:
					case <-ctx.Done():
						return context.Cause(ctx)
					}
					size = j.size
				}
				s.callback(Event{Kind: "ack", Size: size, Target: idx, Path: string(p)})
			}
		case "links":
			// Every answer goes out before the links.
			finish()
			wg.Wait()
			if c := context.Cause(ctx); c != nil {
				return c
			}
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
