package gateway

import (
	"sync"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// Bulk receive buffers.
//
// A large bytes item arrives in a buffer of its own (see frameReader), and
// by default that buffer is garbage once the program drops the value. At
// hundreds of MiB/s that is the receiver's main cost: every item lands in
// freshly mapped, zeroed memory, which the kernel must fault in page by
// page while it copies from the pipe. Gateway.Recycle lets a program that
// consumes each item and then forgets it hand the memory back, so the next
// item of about the same size is read into pages that are already mapped.

const (
	// recycleMin is the smallest buffer kept: smaller items are read
	// from the stream buffer and copied, never given a buffer of their own.
	recycleMin = freshMin
	// recycleMax is the largest buffer kept.
	recycleMax = freshExact
	// recycleBudget bounds the memory the free list holds.
	recycleBudget = 32 << 20
	// recycleSlots bounds the number of buffers it holds.
	recycleSlots = 16
	// recycleLargeSlots and recycleLargeBudget bound the buffers kept
	// that are larger than recycleMax (items beyond freshExact, e.g. the
	// whole files of an rsync transfer): at most two, of 256 MiB in all.
	recycleLargeSlots  = 2
	recycleLargeBudget = 256 << 20
)

// bufFree is a small free list of receive buffers, shared by the receiver
// goroutine (get) and the program (put, through Recycle).
type bufFree struct {
	mu    sync.Mutex
	free  [][]byte
	bytes int
	// large holds buffers over recycleMax, oldest first, apart from
	// free: they are read into only when one fits (getLarge), never
	// allocated for an item, so a frame that declares a huge length
	// costs no memory beyond what the program gave back.
	large      [][]byte
	largeBytes int
}

// getLarge returns a kept buffer over recycleMax of length n whose
// capacity is at least n and at most twice n, or nil when none fits.
func (p *bufFree) getLarge(n int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.large) - 1; i >= 0; i-- {
		if c := cap(p.large[i]); c >= n && c/2 <= n {
			b := p.large[i]
			p.large = append(p.large[:i], p.large[i+1:]...)
			p.largeBytes -= c
			return b[:n]
		}
	}
	return nil
}

// putLarge keeps b (over recycleMax), dropping the oldest kept ones when
// over recycleLargeSlots or recycleLargeBudget.
func (p *bufFree) putLarge(b []byte) {
	if cap(b) > recycleLargeBudget {
		return
	}
	p.mu.Lock()
	p.large = append(p.large, b[:0])
	p.largeBytes += cap(b)
	for len(p.large) > recycleLargeSlots || p.largeBytes > recycleLargeBudget {
		p.largeBytes -= cap(p.large[0])
		p.large[0] = nil
		p.large = p.large[1:]
	}
	p.mu.Unlock()
}

// get returns a buffer of length n: the newest recycled one whose
// capacity is at least n and at most twice n (so a small item does not pin a huge
// buffer), or a new one.
func (p *bufFree) get(n int) []byte {
	p.mu.Lock()
	for i := len(p.free) - 1; i >= 0; i-- {
		if c := cap(p.free[i]); c >= n && c/2 <= n {
			b := p.free[i]
			copy(p.free[i:], p.free[i+1:])
			p.free[len(p.free)-1] = nil
			p.free = p.free[:len(p.free)-1]
			p.bytes -= c
			p.mu.Unlock()
			return b[:n]
		}
	}
	p.mu.Unlock()
	return make([]byte, n)
}

// put keeps b for a later get if it is of a useful size, dropping the
// oldest buffers kept when the list is over its slots or its budget (so
// that when the item size changes, the new size soon owns the list).
func (p *bufFree) put(b []byte) {
	c := cap(b)
	if c > recycleMax+1 {
		p.putLarge(b)
		return
	}
	if c < recycleMin {
		return
	}
	p.mu.Lock()
	p.free = append(p.free, b[:0])
	p.bytes += c
	drop := 0
	for len(p.free)-drop > recycleSlots || p.bytes > recycleBudget {
		p.bytes -= cap(p.free[drop])
		p.free[drop] = nil
		drop++
	}
	if drop > 0 {
		n := copy(p.free, p.free[drop:])
		clear(p.free[n:])
		p.free = p.free[:n]
	}
	p.mu.Unlock()
}

// Recycle gives the memory of v, a bytes item received on one of g's
// channels, back to g, which may read a later large item into it. It is
// for bulk transfers in which each item is used and then dropped: after
// Recycle, neither v nor any slice of it may be used again, because its
// bytes will be overwritten. Values of other kinds, and items smaller than
// 32 KiB, are ignored (they are not read into buffers of their own), so
// calling Recycle on every item received is safe and cheap. Items larger
// than 16 MiB are kept too, at most two of them and 256 MiB in all: a
// later item of about the same size is then read straight into one,
// instead of in pieces that are joined (whole files of an rsync transfer).
func (g *Gateway) Recycle(v codec.Value) {
	if b, ok := v.(codec.Bytes); ok && len(b) > 0 {
		g.rbufs.put(b[:cap(b)])
	}
}
