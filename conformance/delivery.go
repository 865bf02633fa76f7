package conformance

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// A real stream hands a reader whatever the writer's writes and the pipe
// make of the bytes: a frame may arrive one byte at a time, cut anywhere,
// or together with the frames after it. The runner normally writes each
// frame whole; a Delivery makes it write the same bytes in other pieces,
// so that a worker that assumes one read per frame (or per bootstrap
// line) is caught.

// deliveryPause separates the pieces of one delivery, so that a worker
// blocked in a read sees each piece as a read of its own.
const deliveryPause = 200 * time.Microsecond

// Delivery says how the runner cuts the bytes it writes into writes.
type Delivery struct {
	// Name is a short id usable in case ids: "bytes", "random",
	// "boundaries" or "coalesced".
	Name string
	// Description says in words how the bytes are cut.
	Description string
	// cut returns the lengths of the successive writes for the bytes of
	// units (frames, or the bootstrap line) whose lengths are given.
	cut func(units []int, rng *rand.Rand) []int
}

// Deliveries returns the delivery modes, each covering one class of cut
// points: every byte apart, random cut points, the cuts inside the header
// fields and at the header/payload boundary, and many frames in one
// write.
func Deliveries() []Delivery {
	return []Delivery{
		{
			Name:        "bytes",
			Description: "one byte per write",
			cut: func(units []int, _ *rand.Rand) []int {
				n := 0
				for _, u := range units {
					n += u
				}
				out := make([]int, n)
				for i := range out {
					out[i] = 1
				}
				return out
			},
		},
		{
			Name:        "random",
			Description: "writes cut at random points (seeded), across frame boundaries",
			cut: func(units []int, rng *rand.Rand) []int {
				n := 0
				for _, u := range units {
					n += u
				}
				var out []int
				for n > 0 {
					k := 1 + rng.Intn(min(n, 13))
					if rng.Intn(4) == 0 {
						k = 1 + rng.Intn(n)
					}
					out = append(out, k)
					n -= k
				}
				return out
			},
		},
		{
			Name:        "boundaries",
			Description: "each frame cut after its code byte, after its channel id, after its header and in the middle of its payload",
			cut: func(units []int, _ *rand.Rand) []int {
				var out []int
				for _, u := range units {
					if u < spec.HeaderSize {
						out = append(out, u) // a bootstrap line or a short piece
						continue
					}
					out = append(out, 1, 4, 4)
					p := u - spec.HeaderSize
					if p > 1 {
						out = append(out, p/2, p-p/2)
					} else if p == 1 {
						out = append(out, 1)
					}
				}
				return out
			},
		},
		{
			Name:        "coalesced",
			Description: "all frames of a step in one write",
			cut: func(units []int, _ *rand.Rand) []int {
				n := 0
				for _, u := range units {
					n += u
				}
				return []int{n}
			},
		},
	}
}

// deliveryRand returns the random source of a delivery in the running case: seeded
// from the run's seed and the case id, so a run repeats its cuts.
func (t *T) deliveryRand() *rand.Rand {
	h := fnv.New64a()
	_, _ = io.WriteString(h, t.c.ID)
	return rand.New(rand.NewSource(t.seed ^ int64(h.Sum64())))
}

// cutLine splits line into the pieces d makes of it.
func cutLine(d Delivery, line []byte, rng *rand.Rand) [][]byte {
	lens := d.cut([]int{len(line)}, rng)
	if d.Name == "boundaries" {
		// A line has no header: cut before and after its middle byte
		// and right before its newline.
		n := len(line)
		switch {
		case n >= 3:
			lens = []int{n / 2, 1, n - n/2 - 2, 1}
		default:
			lens = []int{n}
		}
	}
	return splitBy(line, lens)
}

func splitBy(b []byte, lens []int) [][]byte {
	var out [][]byte
	for _, n := range lens {
		if n <= 0 {
			continue
		}
		if n > len(b) {
			n = len(b)
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	if len(b) > 0 {
		out = append(out, b)
	}
	return out
}

// SendSplit writes frames to the target as d cuts them: the frames are
// recorded in the trace as sent, then their bytes are written in pieces,
// with a short pause between pieces. No other write comes in between. It
// is fatal if a write fails.
func (t *T) SendSplit(d Delivery, frames ...frame.Frame) {
	if err := t.sess.sendSplit(d, t.deliveryRand(), frames); err != nil {
		t.fatalErr("send ("+d.Name+" delivery)", t.writeErr(err))
	}
}

// SendRawSplit writes raw bytes (e.g. a frame cut short) as d cuts them,
// the bytes counting as one unit.
func (t *T) SendRawSplit(d Delivery, b []byte) {
	s := t.sess
	s.tr.add(TraceEntry{Dir: DirRaw, Length: len(b), Hex: hexTrunc(b), Note: d.Name + " delivery"})
	if err := s.writePieces(splitBy(b, d.cut([]int{len(b)}, t.deliveryRand()))); err != nil {
		t.fatalErr("send raw bytes ("+d.Name+" delivery)", t.writeErr(err))
	}
}

func (s *session) sendSplit(d Delivery, rng *rand.Rand, frames []frame.Frame) error {
	var b []byte
	units := make([]int, 0, len(frames))
	for _, f := range frames {
		e := frameEntry(DirSend, f)
		e.Note = d.Name + " delivery"
		s.tr.add(e)
		if f.Code == spec.MsgGatewayTerminate {
			s.markEnding() // as send does: the end that follows is wanted
		}
		n := len(b)
		b = frame.Append(b, f)
		units = append(units, len(b)-n)
	}
	return s.writePieces(splitBy(b, d.cut(units, rng)))
}

// writePieces writes the pieces in order under the write lock, pausing
// between them.
func (s *session) writePieces(pieces [][]byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for i, p := range pieces {
		if i > 0 {
			time.Sleep(deliveryPause)
		}
		if _, err := s.conn.Write(p); err != nil {
			return fmt.Errorf("writing piece %d of %d (%d bytes): %w", i+1, len(pieces), len(p), err)
		}
	}
	return nil
}

// ErrNoSplitBootstrap is returned by T.WithSplitBootstrap for targets the
// runner does not start itself (ssh, socket, Options.Open): their
// bootstrap line is not written by the runner's popen transport.
var ErrNoSplitBootstrap = fmt.Errorf("%w: the bootstrap line is delivered in pieces only to popen targets", ErrNotAvailable)

// WithSplitBootstrap starts a second session of the target whose
// bootstrap line the runner writes as d cuts it, and runs body with every
// method of t talking to that session; afterwards t talks to the case's
// own session again and the second one is killed and reaped. It must be
// called from the case's goroutine, with no other goroutine of the case
// using t meanwhile. A target that does not start this way fails the
// case (BOOT-HS); a target the runner cannot start with a split line is a
// skip.
func (t *T) WithSplitBootstrap(d Delivery, body func()) {
	if t.dial == nil {
		t.Skipf("%v", ErrNoSplitBootstrap)
	}
	rng := t.deliveryRand()
	var pieces int
	write := func(w io.Writer, line string) error {
		ps := cutLine(d, []byte(line), rng)
		pieces = len(ps)
		return WritePieces(w, ps)
	}
	t.withSession(Bootstrap{WriteLine: write}, func() string {
		return fmt.Sprintf("bootstrap line written in %d pieces (%s delivery)", pieces, d.Name)
	}, "its bootstrap line written in "+d.Name+" ("+d.Description+")", body)
}

// dialSplit opens a new session of the runner's target started as b
// says; used by T.WithBootstrap and T.WithSplitBootstrap.
func (r *runner) dialSplit(ctx context.Context, b Bootstrap) (*session, error) {
	if r.opts.Open != nil || targetKind(r.opts.Target) != "popen" {
		return nil, ErrNoSplitBootstrap
	}
	stderr := newTailBuffer(4096)
	conn, err := openTarget(ctx, &r.opts, stderr, b.WorkerID, b.WriteLine)
	if err != nil {
		return nil, &StartError{Target: r.opts.Target, Err: err}
	}
	return newSession(conn, stderr, r.tr), nil
}
