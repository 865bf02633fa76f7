package codec

import (
	"encoding/binary"
	"unsafe"

	"github.com/execnet-conform/execnet-conform/spec"
)

// Presizing.
//
// Growing the boxer's chunks by doubling allocates up to twice what a
// message needs, and every byte allocated brings the next garbage
// collection closer. For inputs up to presizeMax bytes the decoder first
// walks the opcodes once, without validating them, and counts what the
// boxer will hand out: strings, bytes values, floats, boxed ints, tuple
// and list headers and elements, dicts, dict items and data bytes. The
// first chunk of each kind then has exactly that size (within the usual
// per-chunk caps). A walk that meets anything unexpected just stops: the
// counts are hints, and the decoder still validates everything.

// The walk also ORs together the bytes of every text operand (PY3STRING,
// UNICODE). When it reaches STOP and no such byte has the high bit set,
// all text in the input is ASCII, hence valid UTF-8, and the decoder
// skips its UTF-8 checks: one pass over the text instead of a call per
// string.

// presizeMax is the largest input that is walked before decoding.
const presizeMax = 64 << 10

// sizes counts the slots one decode will take from the boxer.
type sizes struct {
	strs, bytesVals, floats, ints, tuples, lists, dicts int
	vals, items, data                                   int
	asciiText                                           bool // every text operand is ASCII
}

// Kinds of the values on the walk's stack: only dicts and lists matter,
// to tell the items of dicts from list stores. A dict is entered as its
// ordinal (the how-manyth NEWDICT it is, from 0), so that its items can
// be counted per dict.
const (
	walkOther    int32 = -1
	walkList     int32 = -2
	walkBoxedInt int32 = -3 // an INT the boxer boxes, unless it becomes a list index
)

// presize counts what decoding b will allocate, using stack as the walk's
// stack, and appends the item count of each dict, in NEWDICT order, to
// dictItems[:0]. It returns both slices for reuse.
func presize(b []byte, cfg StrConfig, alias bool, stack, dictItems []int32) (sizes, []int32, []int32) {
	var n sizes
	var text uint64 // OR of all text bytes
	stack = stack[:0]
	dictItems = dictItems[:0]
	pos := 0
	for pos < len(b) {
		op := spec.Opcode(b[pos])
		switch op {
		case spec.OpNone, spec.OpTrue, spec.OpFalse:
			pos++
			stack = append(stack, walkOther)
			continue
		case spec.OpStop:
			n.asciiText = text&0x8080808080808080 == 0
			return n, stack, dictItems
		case spec.OpNewDict:
			pos++
			n.dicts++
			stack = append(stack, int32(len(dictItems)))
			dictItems = append(dictItems, 0)
			continue
		case spec.OpSetItem:
			pos++
			if len(stack) < 3 {
				return n, stack, dictItems
			}
			key := stack[len(stack)-2]
			stack = stack[:len(stack)-2]
			switch t := stack[len(stack)-1]; {
			case t >= 0:
				dictItems[t]++
			case t == walkList:
				if key == walkBoxedInt {
					n.ints-- // list indexes stay unboxed
				}
			}
			continue
		case spec.OpFloat:
			pos += 9
			n.floats++
			stack = append(stack, walkOther)
			continue
		case spec.OpComplex:
			pos += 17
			stack = append(stack, walkOther)
			continue
		}
		if len(b)-pos < 5 {
			return n, stack, dictItems
		}
		arg := int32(binary.BigEndian.Uint32(b[pos+1:]))
		pos += 5
		switch op {
		case spec.OpInt, spec.OpLong:
			if uint32(arg) < 256 {
				stack = append(stack, walkOther)
				continue
			}
			n.ints++
			stack = append(stack, walkBoxedInt)
		case spec.OpChannel:
			stack = append(stack, walkOther)
		case spec.OpPy3String, spec.OpUnicode, spec.OpPy2String, spec.OpBytes, spec.OpLongInt, spec.OpLongLong:
			l := int(arg)
			if l < 0 || l > len(b)-pos {
				return n, stack, dictItems
			}
			pos += l
			stack = append(stack, walkOther)
			copied := !alias && l <= maxArenaValue
			switch {
			case op == spec.OpBytes || op == spec.OpPy3String && cfg.Py3StrAsPy2Str:
				n.bytesVals++
			case op == spec.OpPy3String || op == spec.OpUnicode:
				if l == 0 {
					continue
				}
				text |= orBytes(b[pos-l : pos])
				n.strs++
			case op == spec.OpPy2String && !cfg.Py2StrAsPy3Str:
			default:
				continue // LONGINT, latin-1 text: not from the arenas
			}
			if copied {
				n.data += l
			}
		case spec.OpNewList:
			if arg < 0 {
				return n, stack, dictItems
			}
			n.lists++
			if arg <= maxArenaSeq {
				n.vals += int(arg)
			}
			stack = append(stack, walkList)
		case spec.OpBuildTuple, spec.OpSet, spec.OpFrozenSet:
			if arg < 0 || int(arg) > len(stack) {
				return n, stack, dictItems
			}
			if op == spec.OpBuildTuple {
				n.tuples++
			}
			if arg <= maxArenaSeq {
				n.vals += int(arg)
			}
			stack = append(stack[:len(stack)-int(arg)], walkOther)
		default:
			return n, stack, dictItems
		}
	}
	return n, stack, dictItems
}

// orBytes returns a value whose high bits (0x80 in any byte) are clear
// exactly when p is ASCII: the OR of p's bytes, read a word at a time.
// The last word of p, and the two halves of p from 4 to 7 bytes, are
// read overlapping, which ORs some bytes twice and changes nothing.
func orBytes(p []byte) uint64 {
	n := len(p)
	switch {
	case n >= 8:
		acc := binary.LittleEndian.Uint64(p[n-8:])
		for len(p) >= 8 {
			acc |= binary.LittleEndian.Uint64(p)
			p = p[8:]
		}
		return acc
	case n >= 4:
		return uint64(binary.LittleEndian.Uint32(p) | binary.LittleEndian.Uint32(p[n-4:]))
	case n > 0:
		return uint64(p[0] | p[n>>1] | p[n-1])
	}
	return 0
}

// reserve sizes the first chunk of s for n slots.
func (s *slab[T]) reserve(n int) {
	if n > 0 && cap(s.chunk) == 0 {
		s.chunk = make([]T, 0, min(n, maxSlabChunk))
	}
}

// reserve sizes the boxer's first chunks from the counts of a walk.
func (bx *boxer) reserve(n sizes, dictItems []int32) {
	for _, c := range dictItems {
		if c <= maxArenaItems {
			n.items += int(c)
		}
	}
	bx.strs.reserve(n.strs)
	bx.bytes.reserve(n.bytesVals)
	bx.tuples.reserve(n.tuples)
	bx.lists.reserve(n.lists)
	bx.dicts.reserve(n.dicts)
	if vals := n.vals + 2*n.items; vals > 0 && cap(bx.vals) == 0 {
		bx.vals = make([]Value, 0, min(vals, maxValsChunk))
	}
	// Boxed numbers and copied bytes hold no pointers: they share one
	// allocation, numbers first, then the bytes.
	words := min(n.ints+n.floats, maxSlabChunk)
	data := min(n.data, maxDataChunk)
	if words+data > 0 && cap(bx.words.chunk) == 0 && cap(bx.data) == 0 {
		raw := make([]uint64, words+(data+7)/8)
		bx.words.chunk = raw[:0:words]
		if data > 0 {
			bx.data = unsafe.Slice((*byte)(unsafe.Pointer(&raw[words])), data)[:0]
		}
	}
}
