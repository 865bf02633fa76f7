package codec

import (
	"math"
	"unsafe"
)

// Boxing a scalar into a Value normally costs one heap allocation per
// value. The decoder instead places scalars in chunked slabs and builds
// interface values that point into them, so a list of 10,000 ints costs a
// handful of allocations instead of 10,000. A slab chunk is never written
// again once a slot is handed out, so values stay immutable.

// ifaceWords is the two-word layout of a non-empty interface value in the
// gc toolchain: the type/itab word and the data pointer.
type ifaceWords struct {
	tab  unsafe.Pointer
	data unsafe.Pointer
}

func itabOf(v Value) unsafe.Pointer { return (*ifaceWords)(unsafe.Pointer(&v)).tab }

// The itab words of the boxed types; read-only after package init.
var (
	itabInt   = itabOf(Int(0))
	itabFloat = itabOf(Float(0))
	itabStr   = itabOf(Str(""))
	itabBytes = itabOf(Bytes(nil))
	itabTuple = itabOf(Tuple(nil))
	itabList  = itabOf(List(nil))
)

// boxAt returns an interface value of the type described by tab whose data
// word is p. p must point to a value of exactly that type.
func boxAt(tab, p unsafe.Pointer) Value {
	var v Value
	w := (*ifaceWords)(unsafe.Pointer(&v))
	w.tab = tab
	w.data = p
	return v
}

// slab hands out slots of T from chunks. A chunk holds at most max slots
// and is sized from the number of slots the remaining input could need.
type slab[T any] struct {
	chunk []T
}

func (s *slab[T]) put(x T, bound int) *T {
	if len(s.chunk) == cap(s.chunk) {
		s.chunk = make([]T, 0, chunkSize(cap(s.chunk), 1, 4, maxSlabChunk, bound))
	}
	s.chunk = append(s.chunk, x)
	return &s.chunk[len(s.chunk)-1]
}

// The largest chunks the boxer allocates, in slots.
const (
	maxSlabChunk = 4096
	maxValsChunk = 2048
	maxDataChunk = 16 << 10
)

// boxer allocates decoded scalars in slabs.
type boxer struct {
	words  slab[uint64] // Int and Float values: eight plain bytes each
	strs   slab[Str]
	bytes  slab[Bytes]
	tuples slab[Tuple]
	lists  slab[List]
	dicts  slab[Dict]
	vals   []Value // backing store for short tuples and lists and for dict items
	data   []byte  // backing store for short strings and bytes
	alias  bool    // share memory with the input instead of copying
}

// maxArenaValue is the longest string or bytes value taken from the shared
// data arena; longer ones get their own allocation.
const maxArenaValue = 256

func (bx *boxer) int(x int64, remaining int) Value {
	if uint64(x) < 256 {
		return Int(x) // the runtime boxes these without allocating
	}
	return boxAt(itabInt, unsafe.Pointer(bx.words.put(uint64(x), remaining/5+1)))
}

func (bx *boxer) float(f float64, remaining int) Value {
	return boxAt(itabFloat, unsafe.Pointer(bx.words.put(math.Float64bits(f), remaining/5+1)))
}

// copyData returns a copy of b whose capacity equals its length, so that
// appending to it never touches a neighbour in the arena.
func (bx *boxer) copyData(b []byte, remaining int) []byte {
	n := len(b)
	if bx.alias {
		return b[:n:n]
	}
	if n > maxArenaValue {
		return append([]byte(nil), b...) // append does not zero what it copies
	}
	if cap(bx.data)-len(bx.data) < n {
		bx.data = make([]byte, 0, chunkSize(cap(bx.data), n, 4096, maxDataChunk, remaining+n))
	}
	start := len(bx.data)
	bx.data = append(bx.data, b...)
	return bx.data[start : start+n : start+n]
}

func (bx *boxer) str(b []byte, remaining int) Value {
	n := len(b)
	if n == 0 {
		return Str("")
	}
	if d, sc := len(bx.data), len(bx.strs.chunk); !bx.alias && n <= maxArenaValue && cap(bx.data)-d >= n && sc < cap(bx.strs.chunk) {
		// room in both chunks: copy and box without the general paths
		bx.data = append(bx.data, b...)
		bx.strs.chunk = append(bx.strs.chunk, Str(unsafe.String(&bx.data[d], n)))
		return boxAt(itabStr, unsafe.Pointer(&bx.strs.chunk[sc]))
	}
	c := bx.copyData(b, remaining)
	s := Str(unsafe.String(unsafe.SliceData(c), len(c)))
	return boxAt(itabStr, unsafe.Pointer(bx.strs.put(s, remaining/5+1)))
}

func (bx *boxer) bytesValue(b []byte, remaining int) Value {
	c := bx.copyData(b, remaining)
	return boxAt(itabBytes, unsafe.Pointer(bx.bytes.put(Bytes(c), remaining/5+1)))
}

// maxArenaSeq is the longest tuple or list whose elements are carved from
// the shared value arena.
const maxArenaSeq = 64

// values returns a zeroed []Value of length n whose capacity is n.
func (bx *boxer) values(n, limit int) []Value {
	if n > maxArenaSeq {
		return make([]Value, n)
	}
	if cap(bx.vals)-len(bx.vals) < n {
		bx.vals = make([]Value, 0, chunkSize(cap(bx.vals), n, 8, maxValsChunk, limit))
	}
	start := len(bx.vals)
	bx.vals = bx.vals[:start+n]
	return bx.vals[start : start+n : start+n]
}

// chunkSize doubles prev within [min, max], but never below need and never
// far above what the input could use (limit).
func chunkSize(prev, need, min, max, limit int) int {
	n := 2 * prev
	if n < min {
		n = min
	}
	if n > max {
		n = max
	}
	if n > limit {
		n = limit
	}
	if n < need {
		n = need
	}
	return n
}

func (bx *boxer) tuple(t Tuple, limit int) Value {
	return boxAt(itabTuple, unsafe.Pointer(bx.tuples.put(t, limit/5+1)))
}

func (bx *boxer) list(l List, limit int) Value {
	return boxAt(itabList, unsafe.Pointer(bx.lists.put(l, limit/5+1)))
}

func (bx *boxer) dict(limit int) *Dict {
	return bx.dicts.put(Dict{}, limit)
}

// maxArenaItems is the largest dict whose items are carved from the
// shared item arena; bigger dicts get their own slice.
const maxArenaItems = 64

// itemWindow returns an empty item slice with room for exactly n items
// (nil for none): a window of the shared arena, or its own allocation for
// more than maxArenaItems.
func (bx *boxer) itemWindow(n, limit int) []Item {
	if n == 0 {
		return nil
	}
	if n > maxArenaItems {
		return make([]Item, 0, n)
	}
	// An Item is two Values (four pointer words), so 2n slots of the value
	// arena hold n items.
	v := bx.values(2*n, limit)
	return unsafe.Slice((*Item)(unsafe.Pointer(unsafe.SliceData(v))), n)[:0]
}

// growItems returns items with room for at least one more item, for dicts
// whose size the decoder could not count in advance: windows of the
// shared arena, doubling from 4 up to maxArenaItems, then plain append.
func (bx *boxer) growItems(items []Item, limit int) []Item {
	if len(items) < cap(items) || len(items) >= maxArenaItems {
		return items
	}
	w := bx.itemWindow(max(2*len(items), 4), limit)
	return append(w, items...)
}
