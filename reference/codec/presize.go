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
//
// Like the decoder, the walk takes the key, value, SETITEM triples of
// scalars that follow a new dict or list, or a SETITEM, in an inner loop
// that does not push them: this counts exactly what pushing them would.
func presize(b []byte, cfg StrConfig, alias bool, stack, dictItems []int32) (sizes, []int32, []int32) {
	// Field by field: a composite literal is built in a temporary and
	// copied, and the copy reads back the bytes just written, which
	// costs more than the whole walk of a short input.
	var w walker
	w.b, w.cfg, w.alias = b, cfg, alias
	stack = stack[:0]
	dictItems = dictItems[:0]
	pos := 0
	for pos < len(b) {
		op := spec.Opcode(b[pos])
		switch op {
		case spec.OpNone, spec.OpTrue, spec.OpFalse:
			// the commonest scalars outside items, without leaf's call
			pos++
			stack = append(stack, walkOther)
			continue
		case spec.OpFloat:
			if len(b)-pos < 9 {
				return w.n, stack, dictItems
			}
			pos += 9
			w.n.floats++
			stack = append(stack, walkOther)
			continue
		case spec.OpInt:
			if len(b)-pos < 5 {
				return w.n, stack, dictItems
			}
			kind := walkOther
			if binary.BigEndian.Uint32(b[pos+1:]) >= 256 {
				w.n.ints++
				kind = walkBoxedInt
			}
			pos += 5
			stack = append(stack, kind)
			continue
		case spec.OpStop:
			w.n.asciiText = w.text&0x8080808080808080 == 0
			return w.n, stack, dictItems
		case spec.OpNewDict:
			pos++
			w.n.dicts++
			stack = append(stack, int32(len(dictItems)))
			dictItems = append(dictItems, 0)
		case spec.OpSetItem:
			pos++
			if len(stack) < 3 {
				return w.n, stack, dictItems
			}
			key := stack[len(stack)-2]
			stack = stack[:len(stack)-2]
			w.stored(stack[len(stack)-1], key, dictItems)
		case spec.OpNewList, spec.OpBuildTuple, spec.OpSet, spec.OpFrozenSet:
			if len(b)-pos < 5 {
				return w.n, stack, dictItems
			}
			arg := int32(binary.BigEndian.Uint32(b[pos+1:]))
			pos += 5
			if op == spec.OpNewList {
				if arg < 0 {
					return w.n, stack, dictItems
				}
				w.n.lists++
				if arg <= maxArenaSeq {
					w.n.vals += int(arg)
				}
				stack = append(stack, walkList)
				break
			}
			if arg < 0 || int(arg) > len(stack) {
				return w.n, stack, dictItems
			}
			if op == spec.OpBuildTuple {
				w.n.tuples++
			}
			if arg <= maxArenaSeq {
				w.n.vals += int(arg)
			}
			stack = append(stack[:len(stack)-int(arg)], walkOther)
			continue
		default:
			end, kind := w.leaf(pos)
			if end < 0 {
				return w.n, stack, dictItems
			}
			pos = end
			stack = append(stack, kind)
			continue
		}
		// After NEWDICT, NEWLIST and SETITEM: scalar triples into the top.
		top := stack[len(stack)-1]
		for {
			kEnd, key := w.leaf(pos)
			if kEnd < 0 {
				break
			}
			vEnd, val := w.leaf(kEnd)
			if vEnd < 0 || vEnd >= len(b) || b[vEnd] != byte(spec.OpSetItem) {
				// counted already: continue as if pushed
				stack = append(stack, key)
				pos = kEnd
				if vEnd >= 0 {
					stack = append(stack, val)
					pos = vEnd
				}
				break
			}
			w.stored(top, key, dictItems)
			pos = vEnd + 1
		}
	}
	return w.n, stack, dictItems
}

// walker holds the counts of one presize walk.
type walker struct {
	b     []byte
	cfg   StrConfig
	alias bool
	n     sizes
	text  uint64 // OR of all text bytes
}

// stored counts a SETITEM of a key of walk kind key into a target of
// kind target.
func (w *walker) stored(target, key int32, dictItems []int32) {
	switch {
	case target >= 0:
		dictItems[target]++
	case target == walkList && key == walkBoxedInt:
		w.n.ints-- // list indexes stay unboxed
	}
}

// leaf counts the scalar opcode at pos and returns the position after it
// and the kind to push, or -1 if b[pos] is not a scalar opcode or its
// operand does not fit in b.
func (w *walker) leaf(pos int) (int, int32) {
	b := w.b
	if pos >= len(b) {
		return -1, 0
	}
	op := spec.Opcode(b[pos])
	if op == spec.OpPy3String && !w.cfg.Py3StrAsPy2Str && len(b)-pos >= 5 {
		// text, the commonest scalar by far: apart, before the switch
		l := int(int32(binary.BigEndian.Uint32(b[pos+1:])))
		if l < 0 || l > len(b)-pos-5 {
			return -1, 0
		}
		pos += 5 + l
		if l > 0 {
			w.text |= orBytes(b[pos-l : pos])
			w.n.strs++
			if !w.alias && l <= maxArenaValue {
				w.n.data += l
			}
		}
		return pos, walkOther
	}
	switch op {
	case spec.OpNone, spec.OpTrue, spec.OpFalse:
		return pos + 1, walkOther
	case spec.OpFloat:
		if len(b)-pos < 9 {
			return -1, 0
		}
		w.n.floats++
		return pos + 9, walkOther
	case spec.OpComplex:
		if len(b)-pos < 17 {
			return -1, 0
		}
		return pos + 17, walkOther
	case spec.OpInt, spec.OpLong, spec.OpChannel:
		if len(b)-pos < 5 {
			return -1, 0
		}
		if op == spec.OpChannel || binary.BigEndian.Uint32(b[pos+1:]) < 256 {
			return pos + 5, walkOther
		}
		w.n.ints++
		return pos + 5, walkBoxedInt
	case spec.OpPy3String, spec.OpUnicode, spec.OpPy2String, spec.OpBytes, spec.OpLongInt, spec.OpLongLong:
		if len(b)-pos < 5 {
			return -1, 0
		}
		l := int(int32(binary.BigEndian.Uint32(b[pos+1:])))
		if l < 0 || l > len(b)-pos-5 {
			return -1, 0
		}
		pos += 5 + l
		copied := !w.alias && l <= maxArenaValue
		switch {
		case op == spec.OpBytes || op == spec.OpPy3String && w.cfg.Py3StrAsPy2Str:
			w.n.bytesVals++
		case op == spec.OpPy3String || op == spec.OpUnicode:
			if l == 0 {
				return pos, walkOther
			}
			w.text |= orBytes(b[pos-l : pos])
			w.n.strs++
		case op == spec.OpPy2String && !w.cfg.Py2StrAsPy3Str:
		default:
			return pos, walkOther // LONGINT, latin-1 text: not from the arenas
		}
		if copied {
			w.n.data += l
		}
		return pos, walkOther
	}
	return -1, 0
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
