package codec

import (
	"encoding/binary"
	"math"
	"reflect"
	"unsafe"

	"github.com/execnet-conform/execnet-conform/spec"
)

// fieldKind names the scalar field types that the struct decoder decodes
// in its own loop instead of through the field type's decoder: the
// common case of one opcode followed by SETITEM. Anything else about such
// a field (None, a LONGINT, latin-1 text, a tuple) goes to the decoder.
type fieldKind uint8

const (
	fkOther   fieldKind = iota
	fkInt64             // int64, and int where it has 64 bits
	fkFloat64           // float64
	fkString            // string
	fkBool              // bool
	fkBytes             // []byte
)

// inlineKind returns the fieldKind of a field of type t: fkOther unless t
// decodes with the plain decoder of one of the kinds above (a type with
// its own UnmarshalExecnet does not).
func inlineKind(t reflect.Type) fieldKind {
	if reflect.PointerTo(t).Implements(unmarshalerType) || t == valueType {
		return fkOther
	}
	switch t.Kind() {
	case reflect.Int64:
		return fkInt64
	case reflect.Int:
		if unsafe.Sizeof(int(0)) == 8 {
			return fkInt64
		}
	case reflect.Float64:
		return fkFloat64
	case reflect.String:
		return fkString
	case reflect.Bool:
		return fkBool
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return fkBytes
		}
	}
	return fkOther
}

// setKeyWords fills the words that keyAt compares: the key's wire form
// after its opcode (length and name, klen bytes) as its first 8 bytes
// (masked when shorter) and its last 8 bytes, for keys of at most 16
// such bytes (names of at most 12 bytes). Longer keys compare as strings.
func (f *field) setKeyWords() {
	k := f.key[1:]
	f.klen = len(k)
	if f.klen > 16 {
		f.kneed = 0
		return
	}
	var w [8]byte
	copy(w[:], k)
	f.kw0 = binary.LittleEndian.Uint64(w[:])
	f.km0 = ^uint64(0)
	if f.klen < 8 {
		f.km0 = 1<<(8*f.klen) - 1
		f.kneed = 1 + 8
	} else {
		f.kw1 = binary.LittleEndian.Uint64(k[f.klen-8:])
		f.kneed = 1 + f.klen
	}
}

// le64, be32 and be64 load from base+i without a bounds check: the
// caller has checked that the bytes are in the input.
func le64(base unsafe.Pointer, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(base, i))[:])
}

func be32(base unsafe.Pointer, i int) uint32 {
	return binary.BigEndian.Uint32((*[4]byte)(unsafe.Add(base, i))[:])
}

func be64(base unsafe.Pointer, i int) uint64 {
	return binary.BigEndian.Uint64((*[8]byte)(unsafe.Add(base, i))[:])
}

// structItems decodes the items of a dict, from pos (after NEWDICT) to
// the end of its items, into the struct at p.
//
// Keys usually come in field order, so each key is first compared with
// the next field's (its length and name, as a word or two); a scalar
// value of that field's kind followed by SETITEM is then decoded here.
// Everything else goes the general way: a key found by name, a value
// through its field's decoder, an unknown key's value discarded (or the
// decode declined, with DisallowUnknownKeys).
func (d *udec) structItems(si *structInfo, t reflect.Type, p unsafe.Pointer, pos, end, depth int) (int, error) {
	b := d.b
	base := unsafe.Pointer(unsafe.SliceData(b))
	next := 0
	fields := si.fields
	textKey := !d.cfg.Py3StrAsPy2Str
	// The fields set so far (those of index 63 and on share the last
	// bit): when a key comes again, its field's decoder gets it zeroed
	// first, as Loads keeps only the key's last value (which may be None,
	// or a shorter tuple, that would leave part of the first in place).
	// The scalars decoded in this function replace a field whole.
	var seen uint64
	for pos < len(b) && pos != end {
		if textKey && next < len(fields) {
			n0 := next
			if pos, next = d.scalarRun(fields, next, p, pos, end); next > n0 {
				seen |= fieldBits(n0, next)
			}
			if pos >= len(b) || pos == end {
				break
			}
		}
		c := b[pos]
		if dictEndOp[c] {
			break
		}
		// The key: PY3STRING (or UNICODE) text, read in place.
		if !((c == byte(spec.OpPy3String) && textKey) || c == byte(spec.OpUnicode)) || len(b)-pos < 5 {
			return 0, errFallback
		}
		var f *field
		var vpos, fi int
		if next < len(fields) {
			fi = next
			nf := &fields[next]
			var same bool
			if rem := len(b) - pos; nf.kneed != 0 && rem >= nf.kneed {
				same = le64(base, pos+1)&nf.km0 == nf.kw0 && (nf.klen <= 8 || le64(base, pos+1+nf.klen-8) == nf.kw1)
			} else {
				same = rem > nf.klen && string(b[pos+1:pos+1+nf.klen]) == string(nf.key[1:])
			}
			if same {
				if nf.klen-4 > d.lim.MaxStringLen {
					return 0, errFallback
				}
				f, vpos = nf, pos+1+nf.klen
				next++
				// Keys and the values decoded here count without a check
				// of MaxElements: they allocate nothing, and Unmarshal
				// checks the count at the end.
				d.elements++
				if rem := len(b) - vpos; f.kind != fkOther && rem > 0 {
					fp := unsafe.Add(p, f.offset)
					c := spec.Opcode(b[vpos])
					np := -1 // past the value's SETITEM, once decoded here
					switch f.kind {
					case fkInt64:
						if (c == spec.OpInt || c == spec.OpLong) && rem > 5 && b[vpos+5] == byte(spec.OpSetItem) {
							*(*int64)(fp) = int64(int32(be32(base, vpos+1)))
							np = vpos + 6
						}
					case fkFloat64:
						if c == spec.OpFloat && rem > 9 && b[vpos+9] == byte(spec.OpSetItem) {
							*(*float64)(fp) = math.Float64frombits(be64(base, vpos+1))
							np = vpos + 10
						}
					case fkBool:
						if (c == spec.OpTrue || c == spec.OpFalse) && rem > 1 && b[vpos+1] == byte(spec.OpSetItem) {
							*(*bool)(fp) = c == spec.OpTrue
							np = vpos + 2
						}
					case fkString:
						if (c == spec.OpUnicode || (c == spec.OpPy3String && textKey)) && rem > 5 {
							n := int(int32(be32(base, vpos+1)))
							off := vpos + 5
							if uint(n) < uint(len(b)-off) && n <= d.lim.MaxStringLen && b[off+n] == byte(spec.OpSetItem) && validUTF8(b[off:off+n]) {
								*(*string)(fp) = d.str(off, n)
								np = off + n + 1
							}
						}
					case fkBytes:
						if c == spec.OpBytes && rem > 5 {
							n := int(int32(be32(base, vpos+1)))
							off := vpos + 5
							if uint(n) < uint(len(b)-off) && n <= d.lim.MaxStringLen && b[off+n] == byte(spec.OpSetItem) {
								*(*[]byte)(fp) = d.bytes(off, n)
								np = off + n + 1
							}
						}
					}
					if np >= 0 {
						d.elements++ // the value
						pos = np
						seen |= 1 << min(fi, 63)
						continue
					}
				}
			}
		}
		var k []byte
		if f == nil {
			n := int(int32(be32(base, pos+1)))
			if n < 0 || n > d.lim.MaxStringLen || n > len(b)-pos-5 || !d.count() {
				return 0, errFallback
			}
			k = b[pos+5 : pos+5+n]
			vpos = pos + 5 + n
			for i := range fields {
				if string(k) == fields[i].name {
					f, fi = &fields[i], i
					next = i + 1
					break
				}
			}
		}
		var np int
		var err error
		if f == nil {
			if d.strict || !validUTF8(k) {
				return 0, errFallback
			}
			np, err = d.discard(vpos, -1, depth+1)
		} else {
			fp := unsafe.Add(p, f.offset)
			if !f.direct {
				if fp = f.fieldPtr(p, t, true); fp == nil {
					return 0, errFallback
				}
			}
			bit := uint64(1) << min(fi, 63)
			if seen&bit != 0 {
				zeroAt(f.typ, fp)
			}
			seen |= bit
			np, err = f.tc.dec(d, vpos, -1, fp, depth+1)
		}
		if err != nil {
			return 0, err
		}
		if !d.setItemAt(np) {
			return 0, errFallback
		}
		pos = np + 1
	}
	return pos, nil
}

// int64TypeWord is the type word of an interface holding an int64.
var int64TypeWord = func() unsafe.Pointer {
	var x any = int64(0)
	return (*eface)(unsafe.Pointer(&x)).typ
}()

// intBlockLen is the size of the blocks of udec.boxInt, in elements.
const intBlockLen = 16

// boxInt returns x as an interface value. Values the runtime boxes
// without an allocation (0 to 255) are boxed as usual; others live in a
// block shared with the other boxed ints of this decode, as boxString's
// strings do.
func (d *udec) boxInt(x int64) any {
	var v any
	if uint64(x) < uint64(len(smallInts)) {
		*(*eface)(unsafe.Pointer(&v)) = eface{typ: int64TypeWord, data: unsafe.Pointer(&smallInts[x])}
		return v
	}
	return d.boxBigInt(x)
}

// smallInts holds 0 to 255, for boxInt; it is never written after init.
var smallInts = func() (t [256]int64) {
	for i := range t {
		t[i] = int64(i)
	}
	return t
}()

// boxBigInt is boxInt for ints the runtime would allocate for.
func (d *udec) boxBigInt(x int64) any {
	if len(d.intBlock) == cap(d.intBlock) {
		d.intBlock = make([]int64, 0, intBlockLen)
	}
	d.intBlock = append(d.intBlock, x)
	var v any
	*(*eface)(unsafe.Pointer(&v)) = eface{typ: int64TypeWord, data: unsafe.Pointer(&d.intBlock[len(d.intBlock)-1])}
	return v
}

// decAnySlice decodes into a []any. A list's items that are one INT or
// one text opcode are decoded here; other items go to decAny, and values
// other than a list to general (decSlice's decoder for []any).
func decAnySlice(general decFn) decFn {
	return func(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
		b := d.b
		if pos >= len(b) || b[pos] != byte(spec.OpNewList) {
			return general(d, pos, end, p, depth)
		}
		n, ok := d.newList(pos, depth)
		if !ok {
			return 0, errFallback
		}
		s := (*[]any)(p)
		l := *s
		if cap(l) >= n && l != nil {
			l = l[:n]
			clear(l)
		} else {
			l = d.anys(n)
		}
		*s = l
		base := unsafe.Pointer(unsafe.SliceData(b))
		textOp := byte(spec.OpPy3String)
		if d.cfg.Py3StrAsPy2Str {
			textOp = byte(spec.OpUnicode)
		}
		pos += 5
		// Items "INT i, value, SETITEM", as listItems reads them.
		for pos != end && pos < len(b) && (b[pos] == byte(spec.OpInt) || b[pos] == byte(spec.OpLong)) {
			if len(b)-pos < 6 {
				return 0, errFallback
			}
			i := int(int32(be32(base, pos+1)))
			if uint(i) >= uint(n) {
				return 0, errFallback
			}
			d.elements++ // the index (see structItems)
			vpos := pos + 5
			c := b[vpos]
			rem := len(b) - vpos
			if (c == byte(spec.OpInt) || c == byte(spec.OpLong)) && rem > 5 && b[vpos+5] == byte(spec.OpSetItem) {
				l[i] = d.boxInt(int64(int32(be32(base, vpos+1))))
				d.elements++
				pos = vpos + 6
				continue
			}
			if (c == byte(spec.OpUnicode) || c == textOp) && rem > 5 {
				sn := int(int32(be32(base, vpos+1)))
				off := vpos + 5
				if uint(sn) < uint(len(b)-off) && sn <= d.lim.MaxStringLen && b[off+sn] == byte(spec.OpSetItem) && (asciiAt(base, off, sn) || validUTF8(b[off:off+sn])) {
					l[i] = d.boxString(d.str(off, sn))
					d.elements++
					pos = off + sn + 1
					continue
				}
			}
			np, err := decAny(d, vpos, -1, unsafe.Pointer(&l[i]), depth+1)
			if err != nil {
				return 0, err
			}
			if !d.setItemAt(np) {
				return 0, errFallback
			}
			pos = np + 1
		}
		return pos, nil
	}
}

// fieldBits returns the bits of fields a to b-1, a < b, in structItems'
// set of fields seen, where fields 63 and on share bit 63.
func fieldBits(a, b int) uint64 {
	m := (uint64(1)<<min(b, 63) - 1) &^ (uint64(1)<<min(a, 63) - 1)
	if b > 63 {
		m |= 1 << 63
	}
	return m
}

// scalarFields reports whether every field of si is direct and of a
// kind structItems decodes itself, so that scalarTuple may decode a tuple
// into it.
func (si *structInfo) scalarFields() bool {
	for i := range si.fields {
		if !si.fields[i].direct || si.fields[i].kind == fkOther {
			return false
		}
	}
	return len(si.fields) > 0
}

// scalarTuple decodes the tuple at pos into the struct at p when the
// tuple is exactly one scalar opcode of each field's kind, in field
// order, then BUILDTUPLE of that count, ending at end (or, when end < 0,
// before SETITEM or STOP). Such a tuple's elements follow one another, so
// they are decoded as they come instead of being found first by extent.
// It reports false for anything else, after which the caller decodes the
// value from scratch: every field this wrote, a decode of the value that
// succeeds writes again with the same element, since a scalar field takes
// no container.
func (d *udec) scalarTuple(si *structInfo, p unsafe.Pointer, pos, end, depth int) (int, bool) {
	b := d.b
	if depth+1 > d.lim.MaxDepth {
		return 0, false
	}
	base := unsafe.Pointer(unsafe.SliceData(b))
	text := !d.cfg.Py3StrAsPy2Str
	for i := range si.fields {
		f := &si.fields[i]
		rem := len(b) - pos
		if rem <= 0 {
			return 0, false
		}
		c := spec.Opcode(b[pos])
		fp := unsafe.Add(p, f.offset)
		switch f.kind {
		case fkInt64:
			if (c == spec.OpInt || c == spec.OpLong) && rem >= 5 {
				*(*int64)(fp) = int64(int32(be32(base, pos+1)))
				pos += 5
				continue
			}
		case fkFloat64:
			if c == spec.OpFloat && rem >= 9 {
				*(*float64)(fp) = math.Float64frombits(be64(base, pos+1))
				pos += 9
				continue
			}
		case fkBool:
			if c == spec.OpTrue || c == spec.OpFalse {
				*(*bool)(fp) = c == spec.OpTrue
				pos++
				continue
			}
		case fkString:
			if (c == spec.OpUnicode || (c == spec.OpPy3String && text)) && rem >= 5 {
				n := int(int32(be32(base, pos+1)))
				off := pos + 5
				if uint(n) <= uint(len(b)-off) && n <= d.lim.MaxStringLen && validUTF8(b[off:off+n]) {
					*(*string)(fp) = d.str(off, n)
					pos = off + n
					continue
				}
			}
		case fkBytes:
			if c == spec.OpBytes && rem >= 5 {
				n := int(int32(be32(base, pos+1)))
				off := pos + 5
				if uint(n) <= uint(len(b)-off) && n <= d.lim.MaxStringLen {
					*(*[]byte)(fp) = d.bytes(off, n)
					pos = off + n
					continue
				}
			}
		}
		return 0, false
	}
	if len(b)-pos < 5 || b[pos] != byte(spec.OpBuildTuple) || int(int32(be32(base, pos+1))) != len(si.fields) {
		return 0, false
	}
	pos += 5
	if end >= 0 {
		if pos != end {
			return 0, false
		}
	} else if pos >= len(b) || (b[pos] != byte(spec.OpSetItem) && b[pos] != byte(spec.OpStop)) {
		return 0, false
	}
	// The elements and the tuple, counted as in structItems.
	d.elements += len(si.fields) + 1
	return pos, true
}

// asciiAt reports whether the n bytes at base+off are all ASCII, a word
// at a time.
func asciiAt(base unsafe.Pointer, off, n int) bool {
	const hi = 0x8080808080808080
	i := 0
	for ; i+8 <= n; i += 8 {
		if le64(base, off+i)&hi != 0 {
			return false
		}
	}
	for ; i < n; i++ {
		if *(*byte)(unsafe.Add(base, off+i)) >= 0x80 {
			return false
		}
	}
	return true
}

// setPrefix fills the words that scalarRun compares for a field of an
// inline kind: the key's wire form as PY3STRING (opcode, length, name)
// and then the opcode its value usually starts with (INT, FLOAT,
// PY3STRING or BYTES; none for bool, which has two), plen bytes in all,
// as the first 8 bytes (masked when shorter) and the last 8. need is the
// fewest bytes from the key's opcode that such an item takes, SETITEM
// included. Fields whose prefix is longer than 16 bytes get need
// MaxInt: only structItems decodes them inline.
func (f *field) setPrefix() {
	f.need = math.MaxInt // never fits: scalarRun leaves the field to structItems
	if f.kind == fkOther {
		return
	}
	pre := append([]byte(nil), f.key...)
	payload := 0
	switch f.kind {
	case fkInt64:
		pre, payload = append(pre, byte(spec.OpInt)), 4
	case fkFloat64:
		pre, payload = append(pre, byte(spec.OpFloat)), 8
	case fkString:
		pre, payload = append(pre, byte(spec.OpPy3String)), 4
	case fkBytes:
		pre, payload = append(pre, byte(spec.OpBytes)), 4
	case fkBool:
		payload = 1
	}
	if len(pre) > 16 {
		return
	}
	f.plen = len(pre)
	var w [8]byte
	copy(w[:], pre)
	f.pw0 = binary.LittleEndian.Uint64(w[:])
	f.pm0 = ^uint64(0)
	if f.plen < 8 {
		f.pm0 = 1<<(8*f.plen) - 1
	} else {
		f.pw1 = binary.LittleEndian.Uint64(pre[f.plen-8:])
	}
	f.need = max(f.plen+payload+1, 8)
}

// scalarRun decodes, from pos, the dict items that structItems would
// decode inline, as long as they come one after another in their most
// common form: each key the next field's as PY3STRING, each value one
// INT, FLOAT, True, False, PY3STRING of ASCII text or BYTES, as the
// field's kind takes, then SETITEM; text only once the input copy that
// strings point into exists. Key and value opcode are compared as one
// or two words with the field's prefix (setPrefix). It returns the
// position and next field after the last item it decoded; structItems
// decodes the item there.
func (d *udec) scalarRun(fields []field, next int, p unsafe.Pointer, pos, end int) (int, int) {
	b := d.b
	n := len(b)
	base := unsafe.Pointer(unsafe.SliceData(b))
	var sbase unsafe.Pointer
	if d.shared != nil {
		sbase = unsafe.Pointer(unsafe.SliceData(d.shared))
	}
	maxStr := d.lim.MaxStringLen
	if maxStr < 16 {
		return pos, next // keys might be over it: structItems checks them
	}
	els := d.elements
again:
	for next < len(fields) && pos != end {
		f := &fields[next]
		// A prefix (at most 16 bytes) holds a name of at most 11 bytes,
		// within MaxStringLen: checked on entry.
		if n-pos < f.need || le64(base, pos)&f.pm0 != f.pw0 || (f.plen > 8 && le64(base, pos+f.plen-8) != f.pw1) {
			break
		}
		vpos := pos + f.plen // after the value's opcode (bool: at it)
		fp := unsafe.Add(p, f.offset)
		switch f.kind {
		case fkInt64:
			if *(*byte)(unsafe.Add(base, vpos+4)) == byte(spec.OpSetItem) {
				*(*int64)(fp) = int64(int32(be32(base, vpos)))
				pos, next, els = vpos+5, next+1, els+2
				continue
			}
		case fkFloat64:
			if *(*byte)(unsafe.Add(base, vpos+8)) == byte(spec.OpSetItem) {
				*(*float64)(fp) = math.Float64frombits(be64(base, vpos))
				pos, next, els = vpos+9, next+1, els+2
				continue
			}
		case fkBool:
			c := *(*byte)(unsafe.Add(base, vpos))
			if (c == byte(spec.OpTrue) || c == byte(spec.OpFalse)) && *(*byte)(unsafe.Add(base, vpos+1)) == byte(spec.OpSetItem) {
				*(*bool)(fp) = c == byte(spec.OpTrue)
				pos, next, els = vpos+2, next+1, els+2
				continue
			}
		case fkString:
			if sbase == nil {
				break // see below
			}
			sn := int(int32(be32(base, vpos)))
			off := vpos + 4
			if uint(sn) < uint(n-off) && sn <= maxStr && *(*byte)(unsafe.Add(base, off+sn)) == byte(spec.OpSetItem) && asciiAt(base, off, sn) {
				*(*string)(fp) = unsafe.String((*byte)(unsafe.Add(sbase, off)), sn)
				pos, next, els = off+sn+1, next+1, els+2
				continue
			}
		case fkBytes:
			if sbase == nil {
				break
			}
			sn := int(int32(be32(base, vpos)))
			off := vpos + 4
			if uint(sn) < uint(n-off) && sn <= maxStr && *(*byte)(unsafe.Add(base, off+sn)) == byte(spec.OpSetItem) {
				*(*[]byte)(fp) = unsafe.Slice((*byte)(unsafe.Add(sbase, off)), sn)
				pos, next, els = off+sn+1, next+1, els+2
				continue
			}
		}
		// The first text or bytes value makes the input copy that they
		// point into, outside the loop, and the run goes on.
		if sbase == nil && (f.kind == fkString || f.kind == fkBytes) && d.share() {
			sbase = unsafe.Pointer(unsafe.SliceData(d.shared))
			goto again
		}
		break
	}
	d.elements = els
	return pos, next
}

// share makes the input copy that strings and bytes point into (the
// input itself with ZeroCopy), as str and bytes do on first use, and
// reports whether there is one: inputs over sharedLimit get none.
func (d *udec) share() bool {
	if d.shared == nil {
		switch {
		case d.zeroCopy:
			d.shared = d.b
		case len(d.b) <= sharedLimit:
			d.shared = append([]byte(nil), d.b...)
		}
	}
	return d.shared != nil
}
