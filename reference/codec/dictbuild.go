package codec

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"unsafe"
)

// Building decoded dicts.
//
// NEWDICT pushes an empty dict, and SETITEM adds to the dict two slots
// below the top of the stack. A dict on the decoder stack receives items
// only while no other dict sits above it, because a dict leaves the stack
// only by being consumed, and consuming it ends its construction. Open
// dicts therefore nest like a stack. Each open dict appends its items
// straight to its own item slice, which the presize walk sized exactly
// when the input was small enough to walk; the key hashes and tables that
// detect repeated keys live in scratch arrays where each open dict owns a
// segment at the top, dropped when the dict is finished.
//
// Duplicate keys are found by a 64-bit hash of each key (the text of a Str
// key, the HashKey bytes of any other key) kept beside the item, with a
// full comparison on equal hashes. Small dicts scan the hashes; from
// dictTableMin items a dict also gets an open-addressing table of item
// positions in a scratch array of tables, nested like the segments. No Go
// map is built; Dict.find still builds its index lazily if the caller
// looks keys up in a large dict later.

// dictTableMin is the item count from which an open dict uses a table
// instead of scanning its hashes.
const dictTableMin = 8

// keySeed seeds key hashes; it is set once at package initialisation and
// only read afterwards.
var keySeed = maphash.MakeSeed()

// shortSeed seeds strHash's mix for keys of up to 16 bytes; drawn from
// keySeed once at package initialisation and only read afterwards.
var shortSeed = maphash.String(keySeed, "execnet-conform short keys") | 1

// strHash hashes the text of a Str key. Keys of up to 16 bytes, nearly
// all keys in practice, are read as two (possibly overlapping) words that
// together cover every byte, so equal hashes still need a full compare but
// distinct short keys differ in (a, b, len); the words are mixed with the
// secret seed by one 128-bit multiply. Longer keys use maphash.
func strHash(s string) uint64 {
	n := len(s)
	if n > 16 {
		return maphash.String(keySeed, s)
	}
	p := unsafe.Slice(unsafe.StringData(s), n) // read only
	var a, b uint64
	switch {
	case n >= 8:
		a = binary.LittleEndian.Uint64(p)
		b = binary.LittleEndian.Uint64(p[n-8:])
	case n >= 4:
		a = uint64(binary.LittleEndian.Uint32(p))
		b = uint64(binary.LittleEndian.Uint32(p[n-4:]))
	case n > 0:
		a = uint64(p[0])<<16 | uint64(p[n>>1])<<8 | uint64(p[n-1])
	}
	hi, lo := bits.Mul64(a^shortSeed, b^uint64(n)^0x9e3779b97f4a7c15^shortSeed<<1)
	return hi ^ lo
}

// openDict is the construction state of a dict still on the stack.
type openDict struct {
	d        *Dict
	start    int // first index of its key hashes in dictScratch.hashes
	tabStart int // first slot of its table in dictScratch.tab
	tabLen   int // table size, a power of two; 0 while the dict scans
}

// dictScratch holds the key hashes and tables of the open dicts of one
// decode. It is recycled with the decoder stack.
type dictScratch struct {
	open   []openDict
	hashes []uint64
	tab    []int32 // item index + 1; 0 marks a free slot
	keyBuf []byte
}

// reset drops the references the scratch holds so that a recycled scratch
// does not keep decoded values alive.
func (ds *dictScratch) reset() {
	clear(ds.open)
	ds.open = ds.open[:0]
	ds.hashes = ds.hashes[:0]
	ds.tab = ds.tab[:0]
	ds.keyBuf = ds.keyBuf[:0]
}

// begin opens the construction of d, which is now the topmost dict. A
// dict expected to get dictTableMin items or more (a count from the
// presize walk) gets its table now, large enough for them all, so that it
// is not rebuilt as it fills.
func (ds *dictScratch) begin(d *Dict, expect int) {
	ds.open = append(ds.open, openDict{d: d, start: len(ds.hashes), tabStart: len(ds.tab)})
	if expect >= dictTableMin {
		od := &ds.open[len(ds.open)-1]
		size := tableSize(expect)
		ds.tab = append(ds.tab, make([]int32, size)...)
		od.tabLen = size
	}
}

// tableSize returns the table size for n items: a power of two, at least
// 32 and at least twice n, so that a probe meets a free slot soon.
func tableSize(n int) int {
	size := 32
	for size < 2*n {
		size *= 2
	}
	return size
}

// keyHash returns the hash of a dict key and whether the key may equal
// another key (false for NaN keys, which are never found again). It fails
// with an *UnhashableError for keys Python could not hash.
func (ds *dictScratch) keyHash(k Value) (h uint64, findable bool, err error) {
	switch x := k.(type) {
	case Str:
		return strHash(string(x)), true, nil
	case Float, Complex:
		if isNaNValue(k) {
			return 0, false, nil
		}
	}
	ds.keyBuf, err = appendKey(ds.keyBuf[:0], k)
	if err != nil {
		return 0, false, err
	}
	return maphash.Bytes(keySeed, ds.keyBuf), true, nil
}

// keysEqual reports whether two hashable keys with equal hashes are the
// same dict key.
func keysEqual(a, b Value) bool {
	if x, ok := a.(Str); ok {
		y, ok := b.(Str)
		return ok && x == y
	}
	return PyEqual(a, b)
}

// set stores k: v in the topmost open dict with Python's semantics: a key
// already present keeps its position and takes the new value. A full item
// slice grows through bx.
func (ds *dictScratch) set(k, v Value, bx *boxer, limit int) error {
	h, findable, err := ds.keyHash(k)
	if err != nil {
		return err
	}
	od := &ds.open[len(ds.open)-1]
	if findable {
		if i := ds.find(od, h, k); i >= 0 {
			od.d.items[i].Value = v
			return nil
		}
	}
	ds.add(od, k, v, h, findable, bx, limit)
	return nil
}

// setStr is set for a Str key k whose strHash is h.
func (ds *dictScratch) setStr(k Value, h uint64, v Value, bx *boxer, limit int) {
	od := &ds.open[len(ds.open)-1]
	items := od.d.items
	hashes := ds.hashes[od.start:]
	ks := k.(Str)
	if od.tabLen == 0 {
		for i := range items {
			if hashes[i] == h {
				if x, ok := items[i].Key.(Str); ok && x == ks {
					items[i].Value = v
					return
				}
			}
		}
	} else {
		tab := ds.tab[od.tabStart : od.tabStart+od.tabLen]
		mask := uint64(od.tabLen - 1)
		for j := h & mask; ; j = (j + 1) & mask {
			p := tab[j]
			if p == 0 {
				// A new key: enter it in the free slot the probe ended
				// at, unless the items or the table must grow first.
				n := len(items)
				if n == cap(items) || 2*(n+1) > od.tabLen {
					break
				}
				od.d.items = append(items, Item{Key: k, Value: v})
				ds.hashes = append(ds.hashes, h)
				tab[j] = int32(n + 1)
				return
			}
			i := int(p) - 1
			if hashes[i] == h {
				if x, ok := items[i].Key.(Str); ok && x == ks {
					items[i].Value = v
					return
				}
			}
		}
	}
	ds.add(od, k, v, h, true, bx, limit)
}

// find returns the position of key k (hash h) in od, or -1.
func (ds *dictScratch) find(od *openDict, h uint64, k Value) int {
	items := od.d.items
	hashes := ds.hashes[od.start:]
	if od.tabLen == 0 {
		for i := range items {
			if hashes[i] == h && keysEqual(items[i].Key, k) {
				return i
			}
		}
		return -1
	}
	tab := ds.tab[od.tabStart : od.tabStart+od.tabLen]
	mask := uint64(od.tabLen - 1)
	for j := h & mask; ; j = (j + 1) & mask {
		p := tab[j]
		if p == 0 {
			return -1
		}
		i := int(p) - 1
		if hashes[i] == h && keysEqual(items[i].Key, k) {
			return i
		}
	}
}

// add appends the new item k: v (hash h) to od.
func (ds *dictScratch) add(od *openDict, k, v Value, h uint64, findable bool, bx *boxer, limit int) {
	items := od.d.items
	if len(items) == cap(items) {
		items = bx.growItems(items, limit)
	}
	od.d.items = append(items, Item{Key: k, Value: v})
	ds.hashes = append(ds.hashes, h)
	n := len(od.d.items)
	switch {
	case od.tabLen != 0 && 2*n <= od.tabLen:
		if findable {
			ds.insert(od, n-1)
		}
	case n >= dictTableMin:
		ds.rebuild(od, 2*n) // room to double before the next rebuild
	}
}

// insert enters the item at position p of od's segment into od's table.
func (ds *dictScratch) insert(od *openDict, p int) {
	tab := ds.tab[od.tabStart : od.tabStart+od.tabLen]
	mask := uint64(od.tabLen - 1)
	j := ds.hashes[od.start+p] & mask
	for tab[j] != 0 {
		j = (j + 1) & mask
	}
	tab[j] = int32(p + 1)
}

// rebuild gives od, the topmost open dict, a table for room items and
// enters its items. Its table is the last one in ds.tab, so it can be
// replaced in place.
func (ds *dictScratch) rebuild(od *openDict, room int) {
	n := len(od.d.items)
	size := tableSize(room)
	ds.tab = ds.tab[:od.tabStart]
	ds.tab = append(ds.tab, make([]int32, size)...)
	od.tabLen = size
	for p := 0; p < n; p++ {
		if k := od.d.items[p].Key; isNaNValue(k) {
			continue // never found, so never entered
		}
		ds.insert(od, p)
	}
}

// isTop reports whether d is the topmost open dict.
func (ds *dictScratch) isTop(d *Dict) bool {
	return len(ds.open) > 0 && ds.open[len(ds.open)-1].d == d
}

// finish ends the construction of d, which must be the topmost open
// dict, and drops its hashes and table.
func (ds *dictScratch) finish(d *Dict) bool {
	if len(ds.open) == 0 || ds.open[len(ds.open)-1].d != d {
		return false
	}
	od := ds.open[len(ds.open)-1]
	ds.open[len(ds.open)-1] = openDict{}
	ds.open = ds.open[:len(ds.open)-1]
	ds.hashes = ds.hashes[:od.start]
	ds.tab = ds.tab[:od.tabStart]
	return true
}
