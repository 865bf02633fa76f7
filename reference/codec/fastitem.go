package codec

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
	"unsafe"

	"github.com/execnet-conform/execnet-conform/spec"
)

// Storing scalars without the stack.
//
// Most SETITEM opcodes follow a scalar key (or list index) and a scalar
// value: key, value, SETITEM. Right after a dict or list is pushed, and
// after each generic SETITEM into it, the decoder looks ahead for such
// triples and stores them directly, without pushing the key and the value.
// A triple is taken only when both operands are well-formed scalars lying
// wholly inside the input and the third opcode is SETITEM; anything else
// is left to the generic loop. The checks run in the generic loop's order
// (key, element count, value, element count, store) with the same offsets,
// so a bad input fails with the same error either way.

// scalarEnd returns the offset just past the scalar opcode at off, or -1
// if b[off] is not a scalar opcode, its operand does not fit in b, or its
// length operand is negative or above maxLen.
func scalarEnd(b []byte, off, maxLen int) int {
	if off >= len(b) {
		return -1
	}
	switch spec.Opcode(b[off]) {
	case spec.OpNone, spec.OpTrue, spec.OpFalse:
		return off + 1
	case spec.OpInt, spec.OpLong:
		if len(b)-off < 5 {
			return -1
		}
		return off + 5
	case spec.OpFloat:
		if len(b)-off < 9 {
			return -1
		}
		return off + 9
	case spec.OpPy3String, spec.OpUnicode, spec.OpBytes, spec.OpPy2String, spec.OpLongInt, spec.OpLongLong:
		if len(b)-off < 5 {
			return -1
		}
		n := int(int32(binary.BigEndian.Uint32(b[off+1:])))
		if n < 0 || n > maxLen || n > len(b)-off-5 {
			return -1
		}
		return off + 5 + n
	}
	return -1
}

// scalarValue decodes the scalar opcode at off, which scalarEnd accepted,
// boxing integers.
func (s *decState) scalarValue(off int) (Value, error) {
	b := s.b
	op := b[off]
	switch spec.Opcode(op) {
	case spec.OpNone:
		return None{}, nil
	case spec.OpTrue:
		return Bool(true), nil
	case spec.OpFalse:
		return Bool(false), nil
	case spec.OpInt, spec.OpLong:
		return s.box.int(int64(int32(binary.BigEndian.Uint32(b[off+1:]))), len(b)), nil
	case spec.OpFloat:
		return s.box.float(math.Float64frombits(binary.BigEndian.Uint64(b[off+1:])), len(b)), nil
	}
	n := int(binary.BigEndian.Uint32(b[off+1:]))
	return s.blob(off, op, b[off+5:off+5+n])
}

// countedScalar decodes the scalar opcode at off (see scalarValue) and
// counts it against MaxElements, in the generic loop's order.
func (s *decState) countedScalar(off int) (Value, error) {
	v, err := s.scalarValue(off)
	if err != nil {
		return nil, err
	}
	return v, s.countElement(off)
}

// countElement counts one decoded value against MaxElements, failing as
// push does for the opcode at off.
func (s *decState) countElement(off int) error {
	s.elements++
	if s.elements > s.lim.MaxElements {
		return s.tooManyElements(off)
	}
	return nil
}

// tooManyElements is the error for a value beyond MaxElements at the
// opcode at off, for countElement (apart so that countElement is
// inlined) and for the decoder loop's pushes.
func (s *decState) tooManyElements(off int) error {
	return s.fail(off, s.b[off], ErrLimit, "more than MaxElements %d values", s.lim.MaxElements)
}

// fastDictItems stores the scalar items that follow at pos into the open
// dict on top of the stack and returns the position of the first opcode
// it did not consume.
//
// Items with a text key (nearly all of them) take a fused path: the key's
// and the value's shapes are checked first, reading each opcode once, and
// only then is anything decoded; the key's hash, computed on its input
// bytes, goes straight to the dict. Other keys go through scalarEnd and
// countedScalar.
func (s *decState) fastDictItems(pos int) (int, error) {
	b := s.b
	maxLen := s.lim.MaxStringLen
	textKey := byte(spec.OpPy3String)
	if s.cfg.Py3StrAsPy2Str {
		textKey = byte(spec.OpUnicode) // PY3STRING keys decode as bytes
	}
	for {
		if len(b)-pos < 5 {
			return pos, nil
		}
		if kop := b[pos]; kop == textKey || kop == byte(spec.OpUnicode) {
			n := int(int32(binary.BigEndian.Uint32(b[pos+1:])))
			if n < 0 || n > maxLen || n > len(b)-pos-5 {
				return pos, nil
			}
			kEnd := pos + 5 + n
			next, err := s.textKeyItem(pos, kEnd, b[pos+5:kEnd])
			if err != nil {
				return pos, err
			}
			if next < 0 {
				// The value is not a scalar: push the key with its hash
				// for the generic SETITEM, as the generic loop would.
				k, h, err := s.itemKey(pos, b[pos+5:kEnd])
				if err != nil {
					return pos, err
				}
				s.stack = append(s.stack, entry{v: k, i: int64(h), state: entryHashed})
				s.high = max(s.high, len(s.stack))
				return kEnd, nil
			}
			pos = next
			continue
		}
		kEnd := scalarEnd(b, pos, maxLen)
		if kEnd < 0 {
			return pos, nil
		}
		vEnd := scalarEnd(b, kEnd, maxLen)
		if vEnd < 0 || vEnd >= len(b) || b[vEnd] != byte(spec.OpSetItem) {
			return pos, nil
		}
		k, err := s.countedScalar(pos)
		if err != nil {
			return pos, err
		}
		v, err := s.countedScalar(kEnd)
		if err != nil {
			return pos, err
		}
		if err := s.dicts.set(k, v, &s.box, len(b)); err != nil {
			return pos, s.fail(vEnd, byte(spec.OpSetItem), ErrUnhashable, "dict key: %v", err)
		}
		pos = vEnd + 1
	}
}

// textKeyItem stores the item whose text key (operand key, already
// checked to lie in the input) starts at off and whose value starts at
// vOff, if the value is a scalar followed by SETITEM. It returns the
// position after the SETITEM, or -1 (and no error) to leave the item to
// the generic loop.
func (s *decState) textKeyItem(off, vOff int, key []byte) (int, error) {
	b := s.b
	if vOff >= len(b) {
		return -1, nil
	}
	var k, v Value
	var h uint64
	var err error
	vEnd := -1
	switch spec.Opcode(b[vOff]) {
	case spec.OpNone, spec.OpTrue, spec.OpFalse:
		vEnd = vOff + 1
		if vEnd >= len(b) || b[vEnd] != byte(spec.OpSetItem) {
			return -1, nil
		}
		if k, h, err = s.itemKey(off, key); err != nil {
			return -1, err
		}
		switch spec.Opcode(b[vOff]) {
		case spec.OpNone:
			v = None{}
		case spec.OpTrue:
			v = Bool(true)
		default:
			v = Bool(false)
		}
	case spec.OpInt, spec.OpLong:
		vEnd = vOff + 5
		if vEnd >= len(b) || b[vEnd] != byte(spec.OpSetItem) {
			return -1, nil
		}
		if k, h, err = s.itemKey(off, key); err != nil {
			return -1, err
		}
		v = s.box.int(int64(int32(binary.BigEndian.Uint32(b[vOff+1:]))), len(b))
	case spec.OpFloat:
		vEnd = vOff + 9
		if vEnd >= len(b) || b[vEnd] != byte(spec.OpSetItem) {
			return -1, nil
		}
		if k, h, err = s.itemKey(off, key); err != nil {
			return -1, err
		}
		v = s.box.float(math.Float64frombits(binary.BigEndian.Uint64(b[vOff+1:])), len(b))
	case spec.OpPy3String, spec.OpUnicode, spec.OpBytes:
		if len(b)-vOff < 5 {
			return -1, nil
		}
		n := int(int32(binary.BigEndian.Uint32(b[vOff+1:])))
		if n < 0 || n > s.lim.MaxStringLen || n >= len(b)-vOff-5 {
			return -1, nil // the SETITEM needs a byte too
		}
		vEnd = vOff + 5 + n
		if b[vEnd] != byte(spec.OpSetItem) {
			return -1, nil
		}
		if k, h, err = s.itemKey(off, key); err != nil {
			return -1, err
		}
		data := b[vOff+5 : vEnd]
		if op := b[vOff]; op == byte(spec.OpBytes) || op == byte(spec.OpPy3String) && s.cfg.Py3StrAsPy2Str {
			v = s.box.bytesValue(data, len(b))
			break
		}
		if !s.asciiText && !utf8.Valid(data) {
			return -1, s.badText(vOff, data)
		}
		v = s.box.str(data, len(b))
	default:
		vEnd = scalarEnd(b, vOff, s.lim.MaxStringLen)
		if vEnd < 0 || vEnd >= len(b) || b[vEnd] != byte(spec.OpSetItem) {
			return -1, nil
		}
		if k, h, err = s.itemKey(off, key); err != nil {
			return -1, err
		}
		if v, err = s.scalarValue(vOff); err != nil {
			return -1, err
		}
	}
	if err := s.countElement(vOff); err != nil {
		return -1, err
	}
	s.dicts.setStr(k, h, v, &s.box, len(b))
	return vEnd + 1, nil
}

// itemKey decodes and counts the text key at off (operand key) and
// returns it with its strHash, failing as the generic loop does.
func (s *decState) itemKey(off int, key []byte) (Value, uint64, error) {
	if !s.asciiText && !utf8.Valid(key) {
		return nil, 0, s.badText(off, key)
	}
	h := strHash(unsafe.String(unsafe.SliceData(key), len(key)))
	return s.box.str(key, len(s.b)), h, s.countElement(off)
}

// fastListItems stores the scalar values at INT indexes that follow at pos
// into the list l on top of the stack and returns the position of the
// first opcode it did not consume.
func (s *decState) fastListItems(pos int, l List) (int, error) {
	b := s.b
	for {
		if len(b)-pos < 5 || (b[pos] != byte(spec.OpInt) && b[pos] != byte(spec.OpLong)) {
			return pos, nil
		}
		kEnd := pos + 5
		vEnd := scalarEnd(b, kEnd, s.lim.MaxStringLen)
		if vEnd < 0 || vEnd >= len(b) || b[vEnd] != byte(spec.OpSetItem) {
			return pos, nil
		}
		idx := int64(int32(binary.BigEndian.Uint32(b[pos+1:])))
		if err := s.countElement(pos); err != nil {
			return pos, err
		}
		v, err := s.countedScalar(kEnd)
		if err != nil {
			return pos, err
		}
		if idx < 0 || idx >= int64(len(l)) {
			return pos, s.fail(vEnd, byte(spec.OpSetItem), ErrIndexRange, "index %d, list has %d elements", idx, len(l))
		}
		l[idx] = v
		pos = vEnd + 1
	}
}
