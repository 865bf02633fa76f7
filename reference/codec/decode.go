package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/execnet-conform/execnet-conform/spec"
)

// Decoder decodes wire-form values with explicit limits, strconfig and
// channel resolution. The zero Decoder uses DefaultLimits and the zero
// StrConfig (PublicStrConfig); Loads uses ChannelStrConfig. A Decoder is
// safe for concurrent use if its Channel function is.
//
// To allocate little, one decode places scalars, short strings, tuple and
// list elements and dict items of a message in shared chunks (of at most a
// few KiB each); a value kept alive keeps its chunks alive.
type Decoder struct {
	Limits    Limits
	StrConfig StrConfig
	// Channel resolves a CHANNEL opcode's id to a value; nil → ChannelRef(id).
	// An error it returns becomes the Err of the *DecodeError.
	Channel func(id int32) (Value, error)
	// ZeroCopy makes decoded Bytes, Py2Str and Str values share memory
	// with the input instead of copying it. The caller must then never
	// modify the input again (a frame payload read into a fresh buffer
	// qualifies). PY2STRING decoded as latin-1 text is still copied.
	ZeroCopy bool
	// DisallowUnknownKeys makes Unmarshal fail with ErrUnknownKey on a
	// dict key that no field of the target struct takes, instead of
	// skipping it. Loads does not use it.
	DisallowUnknownKeys bool

	forceSlow bool // tests: Unmarshal skips its fast path
	fastOnly  bool // tests: Unmarshal fails where its fast path declines
}

// Loads decodes one wire-form value (no version byte) with DefaultLimits
// and ChannelStrConfig. Bytes after STOP are ignored.
func Loads(b []byte) (Value, error) {
	d := Decoder{StrConfig: ChannelStrConfig}
	v, _, err := d.Loads(b)
	return v, err
}

// LoadsVersioned decodes the public form written by execnet.dumps: a
// version byte (1 or 2, returned) then the wire form. It uses
// PublicStrConfig and rejects CHANNEL opcodes with ErrChannelNotAllowed.
func LoadsVersioned(b []byte) (Value, byte, error) {
	d := Decoder{StrConfig: PublicStrConfig, Channel: RejectChannels}
	v, ver, _, err := d.LoadsVersioned(b)
	return v, ver, err
}

// LoadsVersioned decodes a version byte (1 or 2; others fail with
// ErrVersion) followed by one wire-form value, with d's settings. n counts
// the version byte; error offsets are offsets into b.
func (d *Decoder) LoadsVersioned(b []byte) (v Value, version byte, n int, err error) {
	if len(b) == 0 {
		return nil, 0, 0, &DecodeError{Err: ErrTruncated, Detail: "empty input, expected a format version byte"}
	}
	ver := b[0]
	if ver != spec.FormatV1 && ver != spec.FormatV2 {
		return nil, ver, 0, &DecodeError{Err: ErrVersion, Detail: fmt.Sprintf("format version byte 0x%02x, expected 0x01 or 0x02", ver)}
	}
	v, n, err = d.Loads(b[1:])
	if err != nil {
		if de, ok := err.(*DecodeError); ok {
			de.Offset++
		}
		return nil, ver, 0, err
	}
	return v, ver, n + 1, nil
}

// RejectChannels is a Decoder.Channel function that refuses every
// channel reference with ErrChannelNotAllowed, as public loads does.
func RejectChannels(id int32) (Value, error) {
	return nil, ErrChannelNotAllowed
}

// scratchPool recycles the decoder stack and dict scratch; a scratch
// that grew beyond maxPooledStack entries (stack or items) is left to the
// garbage collector.
var scratchPool = sync.Pool{New: func() any {
	return &scratch{stack: make([]entry, 0, 32)}
}}

const maxPooledStack = 1024

// scratch is the reusable working memory of one decode.
type scratch struct {
	stack     []entry
	dicts     dictScratch
	kinds     []int32 // the presize walk's stack
	dictItems []int32 // the presize walk's item count per dict
}

// entry is one decoder stack slot. Integers from INT stay unboxed (raw)
// until they are stored, so list indexes cost no allocation. A dict from
// NEWDICT is open (its items are in the dict scratch) until it is taken.
//
// The struct keeps four fields so that the compiler can hold an entry in
// registers (a fifth field made decoding a list of ints 40% slower).
type entry struct {
	v     Value
	i     int64
	depth int32 // container nesting depth of the value
	state uint8 // entryPlain, entryRaw or entryOpen
}

// Entry states.
const (
	entryPlain  uint8 = iota // v is the value
	entryRaw                 // the value is Int(i) and v is unset
	entryOpen                // v is a *Dict under construction
	entryHashed              // v is a Str dict key and i its strHash
)

// value returns the entry's value, boxing a raw int and finishing an open
// dict. Open dicts must be taken topmost first.
func (s *decState) value(e *entry) Value {
	if e.state != entryPlain {
		return s.slowValue(e)
	}
	return e.v
}

func (s *decState) slowValue(e *entry) Value {
	switch e.state {
	case entryRaw:
		return s.box.int(e.i, len(s.b))
	case entryHashed:
		return e.v
	}
	s.dicts.finish(e.v.(*Dict))
	e.state = entryPlain
	return e.v
}

type decState struct {
	b         []byte
	lim       Limits
	cfg       StrConfig
	channel   func(int32) (Value, error)
	stack     []entry
	high      int // the most entries the stack has held
	dicts     *dictScratch
	box       boxer
	elements  int
	listSlots int     // NEWLIST counts so far
	asciiText bool    // the presize walk saw only ASCII text operands
	dictItems []int32 // item count per dict from the presize walk, if any
	dictOrd   int     // NEWDICT opcodes so far
}

// Loads decodes one value from the start of b and returns it with the
// number of bytes consumed through STOP. Trailing bytes are ignored.
func (d *Decoder) Loads(b []byte) (v Value, n int, err error) {
	if v, n, ok := d.loadsScalar(b); ok {
		return v, n, nil
	}
	s := decState{b: b, lim: d.Limits.withDefaults(), cfg: d.StrConfig, channel: d.Channel}
	s.box.alias = d.ZeroCopy
	sc := scratchPool.Get().(*scratch)
	s.stack = sc.stack[:0]
	s.dicts = &sc.dicts
	if len(b) <= presizeMax {
		var sz sizes
		sz, sc.kinds, sc.dictItems = presize(b, s.cfg, d.ZeroCopy, sc.kinds, sc.dictItems)
		s.box.reserve(sz, sc.dictItems)
		s.asciiText = sz.asciiText
		s.dictItems = sc.dictItems
	}
	v, n, err = s.run()
	if cap(s.stack) <= maxPooledStack && cap(sc.kinds) <= 8*maxPooledStack && cap(sc.dictItems) <= maxPooledStack &&
		cap(sc.dicts.hashes) <= 4*maxPooledStack && cap(sc.dicts.tab) <= 16*maxPooledStack {
		clear(s.stack[:s.high]) // drop references to decoded values
		sc.stack = s.stack[:0]
		sc.dicts.reset()
		scratchPool.Put(sc)
	}
	return v, n, err
}

// loadsScalar decodes, without setting up the stack machine, an input
// that is one common scalar followed by STOP. ok is false for anything
// else, including every input the general path would reject.
func (d *Decoder) loadsScalar(b []byte) (v Value, n int, ok bool) {
	if len(b) < 2 {
		return nil, 0, false
	}
	switch spec.Opcode(b[0]) {
	case spec.OpNone, spec.OpTrue, spec.OpFalse:
		if b[1] != byte(spec.OpStop) {
			return nil, 0, false
		}
		switch spec.Opcode(b[0]) {
		case spec.OpNone:
			return None{}, 2, true
		case spec.OpTrue:
			return Bool(true), 2, true
		}
		return Bool(false), 2, true
	case spec.OpInt:
		if len(b) < 6 || b[5] != byte(spec.OpStop) {
			return nil, 0, false
		}
		return Int(int32(binary.BigEndian.Uint32(b[1:]))), 6, true
	case spec.OpFloat:
		if len(b) < 10 || b[9] != byte(spec.OpStop) {
			return nil, 0, false
		}
		return Float(math.Float64frombits(binary.BigEndian.Uint64(b[1:]))), 10, true
	case spec.OpPy3String, spec.OpBytes:
		if len(b) < 6 {
			return nil, 0, false
		}
		l := int(int32(binary.BigEndian.Uint32(b[1:])))
		lim := d.Limits.MaxStringLen
		if lim <= 0 {
			lim = DefaultMaxStringLen
		}
		if l < 0 || l > lim || l > len(b)-6 || b[5+l] != byte(spec.OpStop) {
			return nil, 0, false
		}
		data := b[5 : 5+l]
		asBytes := spec.Opcode(b[0]) == spec.OpBytes || d.StrConfig.Py3StrAsPy2Str
		switch {
		case asBytes && d.ZeroCopy:
			return Bytes(data[:l:l]), l + 6, true
		case asBytes:
			return Bytes(append([]byte{}, data...)), l + 6, true
		case !utf8.Valid(data):
			return nil, 0, false
		case d.ZeroCopy:
			return Str(unsafe.String(unsafe.SliceData(data), l)), l + 6, true
		}
		return Str(data), l + 6, true
	}
	return nil, 0, false
}

func (s *decState) fail(off int, op byte, err error, format string, args ...any) error {
	return &DecodeError{Offset: off, Op: spec.Opcode(op), Err: err, Detail: fmt.Sprintf(format, args...)}
}

func (s *decState) push(e entry) error {
	s.elements++
	if s.elements > s.lim.MaxElements {
		return ErrLimit
	}
	s.stack = append(s.stack, e)
	if len(s.stack) > s.high {
		s.high = len(s.stack)
	}
	return nil
}

// int32At reads the int32 operand of the opcode at off.
func (s *decState) int32At(off int) (int32, bool) {
	if len(s.b)-off-1 < 4 {
		return 0, false
	}
	return int32(binary.BigEndian.Uint32(s.b[off+1:])), true
}

func (s *decState) run() (Value, int, error) {
	b := s.b
	pos := 0
	for {
		if pos >= len(b) {
			return nil, 0, &DecodeError{Offset: pos, Err: ErrTruncated, Detail: "input ended before STOP"}
		}
		off := pos
		op := b[pos]
		var e entry
		switch spec.Opcode(op) {
		case spec.OpInt, spec.OpLong:
			i, ok := s.int32At(off)
			if !ok {
				return nil, 0, s.truncated(off, op, 4)
			}
			pos += 5
			e = entry{i: int64(i), state: entryRaw}
		case spec.OpPy3String, spec.OpUnicode, spec.OpPy2String, spec.OpBytes, spec.OpLongInt, spec.OpLongLong:
			n, err := s.length(off, op)
			if err != nil {
				return nil, 0, err
			}
			data := b[off+5 : off+5+n]
			pos = off + 5 + n
			v, err := s.blob(off, op, data)
			if err != nil {
				return nil, 0, err
			}
			e = entry{v: v}
		case spec.OpNone:
			pos++
			e = entry{v: None{}}
		case spec.OpTrue:
			pos++
			e = entry{v: Bool(true)}
		case spec.OpFalse:
			pos++
			e = entry{v: Bool(false)}
		case spec.OpFloat:
			if len(b)-off-1 < 8 {
				return nil, 0, s.truncated(off, op, 8)
			}
			pos += 9
			e = entry{v: s.box.float(math.Float64frombits(binary.BigEndian.Uint64(b[off+1:])), len(b))}
		case spec.OpComplex:
			if len(b)-off-1 < 16 {
				return nil, 0, s.truncated(off, op, 16)
			}
			pos += 17
			re := math.Float64frombits(binary.BigEndian.Uint64(b[off+1:]))
			im := math.Float64frombits(binary.BigEndian.Uint64(b[off+9:]))
			e = entry{v: Complex(complex(re, im))}
		case spec.OpSetItem:
			pos++
			if err := s.setItem(off, op); err != nil {
				return nil, 0, err
			}
			var err error
			if pos, err = s.fastItems(pos); err != nil {
				return nil, 0, err
			}
			continue
		case spec.OpNewDict:
			pos++
			d := s.box.dict(len(b))
			expect := 0
			if s.dictOrd < len(s.dictItems) {
				expect = int(s.dictItems[s.dictOrd])
				d.items = s.box.itemWindow(expect, len(b))
			}
			s.dictOrd++
			s.dicts.begin(d, expect)
			if s.lim.MaxDepth < 1 {
				return nil, 0, s.fail(off, op, ErrLimit, "MaxDepth %d", s.lim.MaxDepth)
			}
			if err := s.push(entry{v: d, depth: 1, state: entryOpen}); err != nil {
				return nil, 0, s.tooManyElements(off)
			}
			var err error
			if pos, err = s.fastDictItems(pos); err != nil {
				return nil, 0, err
			}
			continue
		case spec.OpNewList:
			n, err := s.count(off, op)
			if err != nil {
				return nil, 0, err
			}
			pos += 5
			// A list of n slots costs memory before any element arrives, and
			// execnet accepts lists left partly or wholly unfilled. Bound the
			// slots of all lists in one decode by the input length: at most
			// one slot per input byte.
			s.listSlots += n
			if s.listSlots > len(b) {
				return nil, 0, s.fail(off, op, ErrLimit, "lists declare %d slots in total, more than the %d input bytes (at most one slot per input byte)", s.listSlots, len(b))
			}
			s.elements += n
			if s.elements > s.lim.MaxElements {
				return nil, 0, s.tooManyElements(off)
			}
			l := List(s.box.values(n, len(b)))
			for i := range l {
				l[i] = None{}
			}
			if err := s.push(entry{v: s.box.list(l, len(b)), depth: 1}); err != nil {
				return nil, 0, s.tooManyElements(off)
			}
			if pos, err = s.fastListItems(pos, l); err != nil {
				return nil, 0, err
			}
			continue
		case spec.OpBuildTuple, spec.OpSet, spec.OpFrozenSet:
			n, err := s.count(off, op)
			if err != nil {
				return nil, 0, err
			}
			pos += 5
			if e, err = s.collection(off, op, n); err != nil {
				return nil, 0, err
			}
		case spec.OpChannel:
			id, ok := s.int32At(off)
			if !ok {
				return nil, 0, s.truncated(off, op, 4)
			}
			pos += 5
			if s.channel == nil {
				e = entry{v: ChannelRef(id)}
			} else {
				v, err := s.channel(id)
				if err != nil {
					return nil, 0, &DecodeError{Offset: off, Op: spec.OpChannel, Err: err, Detail: fmt.Sprintf("channel id %d", id)}
				}
				if v == nil {
					return nil, 0, s.fail(off, op, ErrUnsupported, "channel resolver returned nil for id %d", id)
				}
				e = entry{v: v}
			}
		case spec.OpStop:
			if len(s.stack) != 1 {
				return nil, 0, s.fail(off, op, ErrStopStack, "stack holds %d items, expected exactly 1", len(s.stack))
			}
			return s.value(&s.stack[0]), off + 1, nil
		default:
			return nil, 0, s.fail(off, op, ErrUnknownOpcode, "byte 0x%02x is not an opcode (expected 0x40..0x54)", op)
		}
		if err := s.push(e); err != nil {
			return nil, 0, s.tooManyElements(off)
		}
	}
}

// fastItems continues with fastDictItems or fastListItems when the top
// of the stack is a dict under construction or a list.
func (s *decState) fastItems(pos int) (int, error) {
	top := &s.stack[len(s.stack)-1]
	if top.state == entryOpen {
		return s.fastDictItems(pos)
	}
	if l, ok := top.v.(List); ok && top.state == entryPlain {
		return s.fastListItems(pos, l)
	}
	return pos, nil
}

func (s *decState) truncated(off int, op byte, need int) error {
	return s.fail(off, op, ErrTruncated, "expected a %d-byte operand, %d bytes remain", need, len(s.b)-off-1)
}

// count reads a non-negative int32 count operand.
func (s *decState) count(off int, op byte) (int, error) {
	n, ok := s.int32At(off)
	if !ok {
		return 0, s.truncated(off, op, 4)
	}
	if n < 0 {
		return 0, s.fail(off, op, ErrNegativeLength, "count %d", n)
	}
	return int(n), nil
}

// length reads the int32 length of a byte-string operand and checks it
// against the limits and the remaining input.
func (s *decState) length(off int, op byte) (int, error) {
	n, err := s.count(off, op)
	if err != nil {
		return 0, err
	}
	if n > s.lim.MaxStringLen {
		return 0, s.fail(off, op, ErrLimit, "length %d exceeds MaxStringLen %d", n, s.lim.MaxStringLen)
	}
	if rem := len(s.b) - off - 5; n > rem {
		return 0, s.fail(off, op, ErrTruncated, "length %d but only %d bytes remain", n, rem)
	}
	return n, nil
}

func (s *decState) blob(off int, op byte, data []byte) (Value, error) {
	switch spec.Opcode(op) {
	case spec.OpPy3String:
		if s.cfg.Py3StrAsPy2Str {
			return s.box.bytesValue(data, len(s.b)), nil
		}
		fallthrough
	case spec.OpUnicode:
		if !s.asciiText && !utf8.Valid(data) {
			return nil, s.badText(off, data)
		}
		return s.box.str(data, len(s.b)), nil
	case spec.OpPy2String:
		if s.cfg.Py2StrAsPy3Str {
			return Str(latin1(data)), nil
		}
		return Py2Str(s.box.copyData(data, len(s.b))), nil
	case spec.OpBytes:
		return s.box.bytesValue(data, len(s.b)), nil
	}
	// LONGINT, LONGLONG
	return s.decimal(off, op, data)
}

// badText is the error for the text operand data, of the opcode at off,
// that is not valid UTF-8.
func (s *decState) badText(off int, data []byte) error {
	return s.fail(off, s.b[off], ErrBadUTF8, "text operand is not valid UTF-8 %s", badUTF8At(string(data)))
}

func latin1(b []byte) string {
	for i, c := range b {
		if c >= utf8.RuneSelf {
			out := make([]byte, i, len(b)+len(b)/2)
			copy(out, b[:i])
			for _, c := range b[i:] {
				out = utf8.AppendRune(out, rune(c))
			}
			return string(out)
		}
	}
	return string(b)
}

// decimal parses a LONGINT operand, which must match -?[0-9]+.
func (s *decState) decimal(off int, op byte, data []byte) (Value, error) {
	digits := data
	neg := len(digits) > 0 && digits[0] == '-'
	if neg {
		digits = digits[1:]
	}
	if len(digits) == 0 {
		return nil, s.fail(off, op, ErrBadInteger, "decimal %q: expected -?[0-9]+", data)
	}
	if len(digits) > s.lim.MaxIntDigits {
		return nil, s.fail(off, op, ErrLimit, "%d decimal digits exceed MaxIntDigits %d", len(digits), s.lim.MaxIntDigits)
	}
	var u uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return nil, s.fail(off, op, ErrBadInteger, "decimal %q: expected -?[0-9]+", truncate(data))
		}
		u = u*10 + uint64(c-'0') // exact for up to 19 digits
	}
	if len(digits) <= 18 {
		if neg {
			return Int(-int64(u)), nil
		}
		return Int(int64(u)), nil
	}
	x, ok := new(big.Int).SetString(string(data), 10)
	if !ok {
		return nil, s.fail(off, op, ErrBadInteger, "decimal %q: expected -?[0-9]+", truncate(data))
	}
	return NewBigInt(x), nil
}

func truncate(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// collection builds a tuple, set or frozenset from the top n stack items.
func (s *decState) collection(off int, op byte, n int) (entry, error) {
	if n > len(s.stack) {
		return entry{}, s.fail(off, op, ErrStackUnderflow, "needs %d items, stack holds %d", n, len(s.stack))
	}
	items := s.stack[len(s.stack)-n:]
	var depth int32
	vals := s.box.values(n, len(s.b))
	for i := len(items) - 1; i >= 0; i-- { // topmost first, for open dicts
		if items[i].depth > depth {
			depth = items[i].depth
		}
		vals[i] = s.value(&items[i])
	}
	s.stack = s.stack[:len(s.stack)-n]
	depth++
	if int(depth) > s.lim.MaxDepth {
		return entry{}, s.fail(off, op, ErrLimit, "nesting depth exceeds MaxDepth %d", s.lim.MaxDepth)
	}
	switch spec.Opcode(op) {
	case spec.OpBuildTuple:
		return entry{v: s.box.tuple(Tuple(vals), len(s.b)), depth: depth}, nil
	case spec.OpSet:
		set, err := dedupe(vals)
		if err != nil {
			return entry{}, s.fail(off, op, ErrUnhashable, "set element: %v", err)
		}
		return entry{v: Set(set), depth: depth}, nil
	default:
		set, err := dedupe(vals)
		if err != nil {
			return entry{}, s.fail(off, op, ErrUnhashable, "frozenset element: %v", err)
		}
		return entry{v: FrozenSet(set), depth: depth}, nil
	}
}

func (s *decState) setItem(off int, op byte) error {
	n := len(s.stack)
	if n < 3 {
		return s.fail(off, op, ErrStackUnderflow, "needs a container, a key and a value; stack holds %d items", n)
	}
	target := &s.stack[n-3]
	key := &s.stack[n-2]
	val := &s.stack[n-1]
	depth := key.depth
	if val.depth > depth {
		depth = val.depth
	}
	depth++
	switch t := target.v.(type) {
	case List:
		var idx int64
		switch {
		case key.state == entryRaw:
			idx = key.i
		default:
			k, ok := key.v.(Int)
			if !ok {
				return s.fail(off, op, ErrIndexRange, "list index must be an int, got %s", kindOf(key.v))
			}
			idx = int64(k)
		}
		if idx < 0 || idx >= int64(len(t)) {
			return s.fail(off, op, ErrIndexRange, "index %d, list has %d elements", idx, len(t))
		}
		t[idx] = s.value(val)
	case *Dict:
		if key.state == entryOpen {
			return s.fail(off, op, ErrUnhashable, "dict key: %v", &UnhashableError{Kind: KindDict})
		}
		v := s.value(val) // finishes an open dict value first
		if key.state == entryHashed && target.state == entryOpen && s.dicts.isTop(t) {
			s.dicts.setStr(key.v, uint64(key.i), v, &s.box, len(s.b))
			break
		}
		k := s.value(key)
		if target.state != entryOpen {
			// a dict from the Channel resolver: not built by this decode
			if err := t.Set(k, v); err != nil {
				return s.fail(off, op, ErrUnhashable, "dict key: %v", err)
			}
			break
		}
		if top := s.dicts.open; len(top) == 0 || top[len(top)-1].d != t {
			return s.fail(off, op, ErrNotContainer, "internal error: target dict is not the innermost dict under construction")
		}
		if err := s.dicts.set(k, v, &s.box, len(s.b)); err != nil {
			return s.fail(off, op, ErrUnhashable, "dict key: %v", err)
		}
	default:
		what := "int"
		if target.state != entryRaw {
			what = kindOf(target.v).String()
		}
		return s.fail(off, op, ErrNotContainer, "target under key and value is %s, expected dict or list", what)
	}
	if depth > target.depth {
		if int(depth) > s.lim.MaxDepth {
			return s.fail(off, op, ErrLimit, "nesting depth exceeds MaxDepth %d", s.lim.MaxDepth)
		}
		target.depth = depth
	}
	// Popped slots keep stale references until overwritten; Loads clears
	// the whole stack before it is reused.
	s.stack = s.stack[:n-2]
	return nil
}
