package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"reflect"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/execnet-conform/execnet-conform/spec"
)

// Unmarshal decodes the wire form in data (no version byte) into the Go
// value that v points to, with DefaultLimits and ChannelStrConfig, as
// Loads reads it. See Decoder.Unmarshal for the rules.
func Unmarshal(data []byte, v any) error {
	d := Decoder{StrConfig: ChannelStrConfig}
	_, err := d.Unmarshal(data, v)
	return err
}

// UnmarshalVersioned decodes the public form written by execnet.dumps (a
// version byte, then the wire form) into v, as LoadsVersioned reads it,
// and returns the version byte.
func UnmarshalVersioned(data []byte, v any) (byte, error) {
	d := Decoder{StrConfig: PublicStrConfig, Channel: RejectChannels}
	return d.UnmarshalVersioned(data, v)
}

// UnmarshalVersioned is the package-level UnmarshalVersioned with d's
// settings.
func (dc *Decoder) UnmarshalVersioned(data []byte, v any) (byte, error) {
	if len(data) == 0 {
		return 0, &DecodeError{Err: ErrTruncated, Detail: "empty input, expected a format version byte"}
	}
	ver := data[0]
	if ver != spec.FormatV1 && ver != spec.FormatV2 {
		return ver, &DecodeError{Err: ErrVersion, Detail: fmt.Sprintf("format version byte 0x%02x, expected 0x01 or 0x02", ver)}
	}
	if _, err := dc.Unmarshal(data[1:], v); err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Offset++
		}
		return ver, err
	}
	return ver, nil
}

// Unmarshal decodes one wire-form value from the start of data into the
// Go value that v points to and returns the number of bytes read through
// STOP. It applies d's Limits, StrConfig, Channel and ZeroCopy exactly as
// Loads does: an input Loads rejects, Unmarshal rejects with the same
// *DecodeError.
//
// The rules follow encoding/json's. A dict fills a struct (text keys
// matched to field names or `execnet:"name"` tags; keys without a field
// are skipped, or reported with ErrUnknownKey when DisallowUnknownKeys is
// set), a map or an `any`. A list or tuple fills a slice, an array (extra
// elements are dropped, missing ones zeroed) or a struct, field by field
// in declaration order. A set or frozenset fills a SetOf. Ints fill every
// integer kind (with a range check), float64 and float32, big.Int and
// *big.Int; floats fill float kinds; complex fills complex kinds; text
// fills strings; bytes fill []byte. None sets a pointer, slice, map or
// interface to nil and leaves other values unchanged. An `any` receives
// nil, bool, int64 (or *big.Int beyond int64), float64, complex128,
// string, []byte, []any (list and tuple), map[string]any (or map[any]any
// when a key is not text), SetOf[any], or a ChannelValue. A codec.Value
// target receives the value as Loads builds it; types that implement
// Unmarshaler receive it that way too.
//
// A value that does not fit its target fails with an *UnmarshalTypeError
// that names the path, as in ".reports[3].duration: float into int".
//
// Strings share one copy of the input (or, with ZeroCopy, the input
// itself), so a string kept alive keeps that copy alive; inputs over 64
// KiB are copied string by string instead.
func (dc *Decoder) Unmarshal(data []byte, v any) (n int, err error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return 0, &UnmarshalTypeError{Err: ErrType, Detail: fmt.Sprintf("Unmarshal needs a non-nil pointer, got %T", v)}
	}
	tc := codecFor(rv.Type().Elem())
	if !dc.forceSlow {
		d := udecPool.Get().(*udec)
		*d = udec{b: data, lim: dc.Limits.withDefaults(), cfg: dc.StrConfig, channel: dc.Channel,
			zeroCopy: dc.ZeroCopy, strict: dc.DisallowUnknownKeys, starts: d.starts[:0]}
		pos, err := tc.dec(d, 0, -1, rv.UnsafePointer(), 0)
		if err == nil && d.elements > d.lim.MaxElements {
			// Paths that allocate nothing per value count without
			// checking; the count only grows, so one check here does.
			err = errFallback
		}
		if cap(d.starts) <= maxPooledStack {
			*d = udec{starts: d.starts[:0]}
			udecPool.Put(d)
		}
		if err == nil && pos < len(data) && data[pos] == byte(spec.OpStop) {
			return pos + 1, nil
		}
		if dc.fastOnly {
			return 0, errFallback
		}
	}
	// The fast path met something it does not decode directly (or an
	// error, which this path reports with its path and offset).
	slow := Decoder{Limits: dc.Limits, StrConfig: dc.StrConfig, Channel: dc.Channel, ZeroCopy: dc.ZeroCopy}
	val, n, err := slow.Loads(data)
	if err != nil {
		return 0, err
	}
	a := assigner{strict: dc.DisallowUnknownKeys}
	if err := a.assign(val, rv.Elem(), nil); err != nil {
		return 0, err
	}
	return n, nil
}

// errFallback makes Unmarshal decode the input with Loads and assign the
// result: the fast path does not decode this input (or it is an error).
var errFallback = errors.New("codec: typed fast path declined")

// decFn decodes the value starting at pos into the Go value at p and
// returns the position after it. end is the exact end of the value when
// the caller knows it (a tuple element), else -1: the value is then
// followed by SETITEM or STOP.
type decFn func(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error)

// udec is the state of one typed decode.
type udec struct {
	b         []byte
	lim       Limits
	cfg       StrConfig
	channel   func(int32) (Value, error)
	zeroCopy  bool
	strict    bool
	shared    []byte // the input copy that strings point into
	elements  int
	listSlots int
	starts    []int // tuple element starts, see extent
	sbase     int
	// Blocks that small []any lists and boxed strings are carved from
	// (anys, boxString): one allocation for several, not one each.
	anyBlock []any
	strBlock []string
	intBlock []int64 // see boxInt
}

// Sizes of the blocks of udec.anys and udec.boxString, in elements.
const (
	anyBlockLen = 16
	strBlockLen = 16
)

// boxBlock is one allocation for both: each takes its part of a new
// block when its own is used up, and the other part too when that one is.
type boxBlock struct {
	anys [anyBlockLen]any
	strs [strBlockLen]string
}

// anys returns a new []any of n nil elements (non-nil, also for n == 0).
// Short lists are carved from a block shared with the other short lists
// of this decode, each capped at its own length, so that an append to one
// never writes into another; the block lives as long as any of them.
func (d *udec) anys(n int) []any {
	if n == 0 || n > anyBlockLen/4 {
		return make([]any, n)
	}
	k := len(d.anyBlock)
	if cap(d.anyBlock)-k < n {
		bb := new(boxBlock)
		d.anyBlock, k = bb.anys[:0], 0
		if len(d.strBlock) == cap(d.strBlock) {
			d.strBlock = bb.strs[:0]
		}
	}
	d.anyBlock = d.anyBlock[:k+n]
	return d.anyBlock[k : k+n : k+n]
}

// stringTypeWord is the type word of an interface holding a string.
var stringTypeWord = func() unsafe.Pointer {
	var s any = ""
	return (*eface)(unsafe.Pointer(&s)).typ
}()

// boxString returns s as an interface value whose string header lives in
// a block shared with the other boxed strings of this decode, instead of
// an allocation of its own. The header is written once and never again:
// an interface's value cannot be changed through it.
func (d *udec) boxString(s string) any {
	if len(d.strBlock) == cap(d.strBlock) {
		d.newStrBlock()
	}
	d.strBlock = append(d.strBlock, s)
	var v any
	*(*eface)(unsafe.Pointer(&v)) = eface{typ: stringTypeWord, data: unsafe.Pointer(&d.strBlock[len(d.strBlock)-1])}
	return v
}

// newStrBlock gives boxString a new block (see boxBlock).
func (d *udec) newStrBlock() {
	bb := new(boxBlock)
	d.strBlock = bb.strs[:0]
	if cap(d.anyBlock)-len(d.anyBlock) < anyBlockLen/4 {
		d.anyBlock = bb.anys[:0]
	}
}

// sliceHeader is the layout of a slice.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// zeroArray backs the empty slices Unmarshal makes.
var zeroArray [0]uint64

var udecPool = sync.Pool{New: func() any { return new(udec) }}

// sharedLimit is the largest input whose strings share one copy.
const sharedLimit = 64 << 10

// count adds one decoded value and checks MaxElements.
func (d *udec) count() bool {
	d.elements++
	return d.elements <= d.lim.MaxElements
}

// blob reads the length operand of the opcode at pos; it returns the data
// offset and length.
func (d *udec) blob(pos int) (int, int, bool) {
	b := d.b
	if len(b)-pos < 5 {
		return 0, 0, false
	}
	n := int(int32(binary.BigEndian.Uint32(b[pos+1:])))
	if n < 0 || n > d.lim.MaxStringLen || n > len(b)-pos-5 {
		return 0, 0, false
	}
	return pos + 5, n, true
}

// str returns the input bytes [off, off+n) as a string without a copy
// of its own where possible.
func (d *udec) str(off, n int) string {
	if n == 0 {
		return ""
	}
	if d.shared == nil {
		switch {
		case d.zeroCopy:
			d.shared = d.b
		case len(d.b) <= sharedLimit:
			d.shared = append([]byte(nil), d.b...)
		default:
			return string(d.b[off : off+n])
		}
	}
	return unsafe.String(&d.shared[off], n)
}

// bytes returns the input bytes [off, off+n) as a []byte that shares
// no memory with other decoded values: a capped slice of the input copy
// that strings point into (whose bytes no string shares), or of the input
// itself with ZeroCopy.
func (d *udec) bytes(off, n int) []byte {
	if d.shared == nil {
		switch {
		case d.zeroCopy:
			d.shared = d.b
		case len(d.b) <= sharedLimit:
			d.shared = append([]byte(nil), d.b...)
		default:
			return append(make([]byte, 0, n), d.b[off:off+n]...)
		}
	}
	return d.shared[off : off+n : off+n]
}

// text reads a text opcode at pos that decodes as Str under d's
// strconfig.
func (d *udec) text(pos int) (s string, next int, ok bool) {
	b := d.b
	if len(b)-pos < 5 {
		return "", 0, false
	}
	switch spec.Opcode(b[pos]) {
	case spec.OpUnicode:
	case spec.OpPy3String:
		if d.cfg.Py3StrAsPy2Str {
			return "", 0, false
		}
	case spec.OpPy2String:
		if !d.cfg.Py2StrAsPy3Str {
			return "", 0, false
		}
		off, n, ok := d.blob(pos)
		if !ok || !d.count() {
			return "", 0, false
		}
		return latin1(b[off : off+n]), off + n, true
	default:
		return "", 0, false
	}
	n := int(int32(binary.BigEndian.Uint32(b[pos+1 : pos+5])))
	off := pos + 5
	if uint(n) > uint(len(b)-off) || n > d.lim.MaxStringLen || !d.count() || !validUTF8(b[off:off+n]) {
		return "", 0, false
	}
	return d.str(off, n), off + n, true
}

func validUTF8(b []byte) bool {
	const hi = 0x8080808080808080
	if len(b) >= 8 {
		// Whole words, the last one overlapping the one before.
		for s := b; ; s = s[8:] {
			if len(s) <= 8 {
				return binary.LittleEndian.Uint64(b[len(b)-8:])&hi == 0 || utf8.Valid(b)
			}
			if binary.LittleEndian.Uint64(s)&hi != 0 {
				return utf8.Valid(b)
			}
		}
	}
	s := b
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return utf8.Valid(s)
		}
	}
	return true
}

// intOp reads an integer opcode at pos that fits in int64.
func (d *udec) intOp(pos int) (int64, int, bool) {
	b := d.b
	if pos >= len(b) {
		return 0, 0, false
	}
	switch spec.Opcode(b[pos]) {
	case spec.OpInt, spec.OpLong:
		if len(b)-pos < 5 || !d.count() {
			return 0, 0, false
		}
		return int64(int32(binary.BigEndian.Uint32(b[pos+1:]))), pos + 5, true
	case spec.OpLongInt, spec.OpLongLong:
		off, n, ok := d.blob(pos)
		if !ok || !d.count() {
			return 0, 0, false
		}
		x, ok := parseInt64(b[off:off+n], d.lim.MaxIntDigits)
		return x, off + n, ok
	}
	return 0, 0, false
}

// parseInt64 parses -?[0-9]+ that fits in int64 and has at most maxDigits
// digits.
func parseInt64(s []byte, maxDigits int) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 19 || len(s) > maxDigits {
		return 0, false
	}
	var u uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// ended reports whether a value that ends at pos is complete: pos is its
// known end, or SETITEM or STOP follows.
func (d *udec) ended(pos, end int) bool {
	if end >= 0 {
		return pos == end
	}
	return pos < len(d.b) && (d.b[pos] == byte(spec.OpSetItem) || d.b[pos] == byte(spec.OpStop))
}

// extent scans the value that starts at pos (and ends at end when end >=
// 0, else before a SETITEM or STOP at stack height 1). It checks every
// operand against the input and every pop against the value's own stack,
// so the value is self-contained. It returns the value's end and the
// position of its last opcode, and leaves in d.starts[d.sbase+h] the
// last position where an opcode started at height h: when the last
// opcode builds a collection of n items, the starts of its n elements.
// pushes and slots count what Loads would count for MaxElements and the
// list-slot bound.
func (d *udec) extent(pos, end int) (stop, last, pushes, slots int, ok bool) {
	b := d.b
	h := 0
	p := pos
	last = -1
	for {
		if h == 1 && (p == end || (end < 0 && p < len(b) && (b[p] == byte(spec.OpSetItem) || b[p] == byte(spec.OpStop)))) {
			return p, last, pushes, slots, true
		}
		if p >= len(b) || (end >= 0 && p >= end) {
			return 0, 0, 0, 0, false
		}
		i := d.sbase + h
		for i >= len(d.starts) {
			d.starts = append(d.starts, 0)
		}
		d.starts[i] = p
		last = p
		op := spec.Opcode(b[p])
		switch op {
		case spec.OpInt, spec.OpLong, spec.OpChannel:
			if len(b)-p < 5 {
				return 0, 0, 0, 0, false
			}
			p += 5
			h++
		case spec.OpNone, spec.OpTrue, spec.OpFalse, spec.OpNewDict:
			p++
			h++
		case spec.OpFloat:
			p += 9
			h++
		case spec.OpComplex:
			p += 17
			h++
		case spec.OpPy3String, spec.OpUnicode, spec.OpPy2String, spec.OpBytes, spec.OpLongInt, spec.OpLongLong:
			off, n, ok := d.blob(p)
			if !ok {
				return 0, 0, 0, 0, false
			}
			p = off + n
			h++
		case spec.OpNewList:
			if len(b)-p < 5 {
				return 0, 0, 0, 0, false
			}
			n := int(int32(binary.BigEndian.Uint32(b[p+1:])))
			if n < 0 {
				return 0, 0, 0, 0, false
			}
			slots += n
			pushes += n
			p += 5
			h++
		case spec.OpSetItem:
			if h < 3 {
				return 0, 0, 0, 0, false
			}
			h -= 2
			p++
			continue
		case spec.OpBuildTuple, spec.OpSet, spec.OpFrozenSet:
			if len(b)-p < 5 {
				return 0, 0, 0, 0, false
			}
			n := int(int32(binary.BigEndian.Uint32(b[p+1:])))
			if n < 0 || n > h {
				return 0, 0, 0, 0, false
			}
			h = h - n + 1
			p += 5
		default:
			return 0, 0, 0, 0, false
		}
		pushes++
	}
}

// seq finds the elements of a tuple, set or frozenset value at pos. It
// returns the opcode that builds it, the element count, the value's end
// and the index in d.starts of the first element's start (element i ends
// where element i+1 starts; the last ends at bpos, the builder).
func (d *udec) seq(pos, end, depth int) (op spec.Opcode, n, stop, base, bpos int, ok bool) {
	base = d.sbase
	stop, last, _, _, ok := d.extent(pos, end)
	if !ok {
		return 0, 0, 0, 0, 0, false
	}
	op = spec.Opcode(d.b[last])
	if op != spec.OpBuildTuple && op != spec.OpSet && op != spec.OpFrozenSet {
		return 0, 0, 0, 0, 0, false
	}
	if depth+1 > d.lim.MaxDepth || !d.count() {
		return 0, 0, 0, 0, 0, false
	}
	n = int(binary.BigEndian.Uint32(d.b[last+1:]))
	return op, n, stop, base, last, true
}

// elemEnd is the end of element i of n found by seq.
func (d *udec) elemEnd(base, i, n, bpos int) int {
	if i+1 < n {
		return d.starts[base+i+1]
	}
	return bpos
}

// forEach decodes the n elements found by seq, calling f for each with
// its start and end.
func (d *udec) forEach(base, n, bpos int, f func(i, start, end int) error) error {
	saved := d.sbase
	d.sbase = base + n
	for i := 0; i < n; i++ {
		end := bpos
		if i+1 < n {
			end = d.starts[base+i+1]
		}
		if err := f(i, d.starts[base+i], end); err != nil {
			d.sbase = saved
			return err
		}
	}
	d.sbase = saved
	return nil
}

// newList reads NEWLIST at pos and checks its count against the limits.
func (d *udec) newList(pos, depth int) (n int, ok bool) {
	b := d.b
	if len(b)-pos < 5 {
		return 0, false
	}
	n = int(int32(binary.BigEndian.Uint32(b[pos+1:])))
	if n < 0 || depth+1 > d.lim.MaxDepth {
		return 0, false
	}
	d.listSlots += n
	d.elements += n
	if d.listSlots > len(b) || !d.count() {
		return 0, false
	}
	return n, true
}

// listItems decodes the items "INT i, value, SETITEM" of a list of n
// slots that follow pos, calling f for each with its index. again is
// true when i may have been set before in this list (its index is not
// above every index before it): as Loads keeps only the last value of a
// slot, f must then decode into a zero destination, not on top of the
// earlier value (see zeroAt).
func (d *udec) listItems(pos, end, n int, f func(i, pos int, again bool) (int, error)) (int, error) {
	b := d.b
	last := -1
	for pos != end && pos < len(b) && (b[pos] == byte(spec.OpInt) || b[pos] == byte(spec.OpLong)) {
		if len(b)-pos < 5 {
			return 0, errFallback
		}
		i := int(int32(binary.BigEndian.Uint32(b[pos+1:])))
		if i < 0 || i >= n || !d.count() {
			return 0, errFallback
		}
		np, err := f(i, pos+5, i <= last)
		last = max(last, i)
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

// setItemAt reports whether SETITEM is at i, where the value of an item
// decoded up to i must be followed by it.
func (d *udec) setItemAt(i int) bool { return i < len(d.b) && d.b[i] == byte(spec.OpSetItem) }

// dictEnd reports whether the items of a dict end at pos.
func (d *udec) dictEnd(pos, end int) bool {
	if pos == end || pos >= len(d.b) {
		return true
	}
	switch spec.Opcode(d.b[pos]) {
	case spec.OpSetItem, spec.OpStop, spec.OpBuildTuple, spec.OpSet, spec.OpFrozenSet:
		return true
	}
	return false
}

// valueAt decodes the value at pos with Loads, for codec.Value targets
// and Unmarshalers. The value is scanned first so that it is decoded on
// its own, within what remains of the limits.
func (d *udec) valueAt(pos, end, depth int) (Value, int, error) {
	stop, _, pushes, slots, ok := d.extent(pos, end)
	if !ok {
		return nil, 0, errFallback
	}
	d.elements += pushes
	d.listSlots += slots
	if d.elements > d.lim.MaxElements || d.listSlots > len(d.b) || depth >= d.lim.MaxDepth {
		return nil, 0, errFallback // (a scalar at MaxDepth is left to Loads)
	}
	region := make([]byte, stop-pos+1)
	copy(region, d.b[pos:stop])
	region[len(region)-1] = byte(spec.OpStop)
	lim := d.lim
	lim.MaxDepth -= depth
	sub := Decoder{Limits: lim, StrConfig: d.cfg, Channel: d.channel, ZeroCopy: true}
	v, _, err := sub.Loads(region)
	if err != nil {
		return nil, 0, errFallback
	}
	return v, stop, nil
}

// decoderFor returns the decoder of the type of tc.
func decoderFor(tc *typeCodec) decFn {
	t := tc.typ
	if t == valueType {
		return decValue
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) && t.Kind() != reflect.Interface {
		return decUnmarshaler(t)
	}
	switch t {
	case bigIntType:
		return decBigInt
	case bigIntPtrType:
		return decBigIntPtr
	}
	switch t.Kind() {
	case reflect.Bool:
		return decBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return decIntKind(t.Kind())
	case reflect.Float32, reflect.Float64:
		return decFloat(t.Kind())
	case reflect.Complex64, reflect.Complex128:
		return decComplex(t.Kind())
	case reflect.String:
		return decString
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return decBytes
		}
		if t == anySliceType {
			return decAnySlice(decSlice(tc))
		}
		return decSlice(tc)
	case reflect.Array:
		return decArray(tc)
	case reflect.Pointer:
		return decPointer(tc)
	case reflect.Struct:
		return decStruct(tc)
	case reflect.Map:
		if t.Implements(setMarkerType) {
			return decSet(tc)
		}
		switch t {
		case reflect.TypeFor[map[string]int]():
			return decStrMap(readInt)
		case reflect.TypeFor[map[string]int64]():
			return decStrMap(d2i64(intOpOf))
		case reflect.TypeFor[map[string]string]():
			return decStrMap(readString)
		case reflect.TypeFor[map[string]float64]():
			return decStrMap(readFloat)
		case reflect.TypeFor[map[string]bool]():
			return decStrMap(readBool)
		}
		if t.Key().Kind() == reflect.String && t.Elem() == anyType && t.Key() == reflect.TypeFor[string]() {
			return decStringAnyMap
		}
		return decMap(tc)
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return decAny
		}
	}
	return func(*udec, int, int, unsafe.Pointer, int) (int, error) { return 0, errFallback }
}

// none handles a NONE opcode at pos: it counts it and reports whether
// pos holds one.
func (d *udec) none(pos int) bool {
	return pos < len(d.b) && d.b[pos] == byte(spec.OpNone) && d.count()
}

func decValue(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
	v, stop, err := d.valueAt(pos, end, depth)
	if err != nil {
		return 0, err
	}
	*(*Value)(p) = v
	return stop, nil
}

func decUnmarshaler(t reflect.Type) decFn {
	return func(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
		v, stop, err := d.valueAt(pos, end, depth)
		if err != nil {
			return 0, err
		}
		if err := reflect.NewAt(t, p).Interface().(Unmarshaler).UnmarshalExecnet(v); err != nil {
			return 0, errFallback
		}
		return stop, nil
	}
}

func decBool(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
	if pos < len(d.b) && d.count() {
		switch spec.Opcode(d.b[pos]) {
		case spec.OpTrue:
			*(*bool)(p) = true
			return pos + 1, nil
		case spec.OpFalse:
			*(*bool)(p) = false
			return pos + 1, nil
		case spec.OpNone:
			return pos + 1, nil
		}
	}
	return 0, errFallback
}

func decIntKind(k reflect.Kind) decFn {
	return func(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
		x, np, ok := d.intOp(pos)
		if !ok {
			if d.none(pos) {
				return pos + 1, nil
			}
			if (k == reflect.Uint64 || k == reflect.Uint || k == reflect.Uintptr) && unsafe.Sizeof(uint(0)) == 8 {
				return d.bigUint(pos, p)
			}
			return 0, errFallback
		}
		if !storeInt(k, p, x) {
			return 0, errFallback
		}
		return np, nil
	}
}

// bigUint decodes a LONGINT above MaxInt64 into a 64-bit unsigned kind.
func (d *udec) bigUint(pos int, p unsafe.Pointer) (int, error) {
	b := d.b
	if pos >= len(b) || (b[pos] != byte(spec.OpLongInt) && b[pos] != byte(spec.OpLongLong)) {
		return 0, errFallback
	}
	off, n, ok := d.blob(pos)
	if !ok || n == 0 || n > 20 || n > d.lim.MaxIntDigits || !d.count() {
		return 0, errFallback
	}
	var u uint64
	for _, c := range b[off : off+n] {
		if c < '0' || c > '9' {
			return 0, errFallback
		}
		hi, lo := bits.Mul64(u, 10)
		lo2, carry := bits.Add64(lo, uint64(c-'0'), 0)
		if hi != 0 || carry != 0 {
			return 0, errFallback
		}
		u = lo2
	}
	*(*uint64)(p) = u
	return off + n, nil
}

// storeInt stores x into the integer of kind k at p; it reports false when
// x is out of the kind's range.
func storeInt(k reflect.Kind, p unsafe.Pointer, x int64) bool {
	switch k {
	case reflect.Int64:
		*(*int64)(p) = x
	case reflect.Int:
		if x != int64(int(x)) {
			return false
		}
		*(*int)(p) = int(x)
	case reflect.Int32:
		if x != int64(int32(x)) {
			return false
		}
		*(*int32)(p) = int32(x)
	case reflect.Int16:
		if x != int64(int16(x)) {
			return false
		}
		*(*int16)(p) = int16(x)
	case reflect.Int8:
		if x != int64(int8(x)) {
			return false
		}
		*(*int8)(p) = int8(x)
	default:
		if x < 0 {
			return false
		}
		u := uint64(x)
		switch k {
		case reflect.Uint64:
			*(*uint64)(p) = u
		case reflect.Uint, reflect.Uintptr:
			if u != uint64(uint(u)) {
				return false
			}
			*(*uint)(p) = uint(u)
		case reflect.Uint32:
			if u != uint64(uint32(u)) {
				return false
			}
			*(*uint32)(p) = uint32(u)
		case reflect.Uint16:
			if u != uint64(uint16(u)) {
				return false
			}
			*(*uint16)(p) = uint16(u)
		case reflect.Uint8:
			if u != uint64(uint8(u)) {
				return false
			}
			*(*uint8)(p) = uint8(u)
		}
	}
	return true
}

func decFloat(k reflect.Kind) decFn {
	return func(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
		b := d.b
		var f float64
		var np int
		switch {
		case pos < len(b) && b[pos] == byte(spec.OpFloat):
			if len(b)-pos < 9 || !d.count() {
				return 0, errFallback
			}
			f = math.Float64frombits(binary.BigEndian.Uint64(b[pos+1:]))
			np = pos + 9
		case d.none(pos):
			return pos + 1, nil
		default:
			x, n, ok := d.intOp(pos)
			if !ok || !exactFloat(x) {
				return 0, errFallback
			}
			f, np = float64(x), n
		}
		if k == reflect.Float32 {
			if math.Abs(f) > math.MaxFloat32 && !math.IsInf(f, 0) {
				return 0, errFallback
			}
			*(*float32)(p) = float32(f)
		} else {
			*(*float64)(p) = f
		}
		return np, nil
	}
}

func decComplex(k reflect.Kind) decFn {
	return func(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
		b := d.b
		if d.none(pos) {
			return pos + 1, nil
		}
		if pos >= len(b) || b[pos] != byte(spec.OpComplex) || len(b)-pos < 17 || !d.count() {
			return 0, errFallback
		}
		re := math.Float64frombits(binary.BigEndian.Uint64(b[pos+1:]))
		im := math.Float64frombits(binary.BigEndian.Uint64(b[pos+9:]))
		if k == reflect.Complex64 {
			if (math.Abs(re) > math.MaxFloat32 && !math.IsInf(re, 0)) || (math.Abs(im) > math.MaxFloat32 && !math.IsInf(im, 0)) {
				return 0, errFallback
			}
			*(*complex64)(p) = complex64(complex(re, im))
		} else {
			*(*complex128)(p) = complex(re, im)
		}
		return pos + 17, nil
	}
}

func decString(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
	s, np, ok := d.text(pos)
	if !ok {
		if d.none(pos) {
			return pos + 1, nil
		}
		return 0, errFallback
	}
	*(*string)(p) = s
	return np, nil
}

// bytesOp reads an opcode at pos that decodes as Bytes or Py2Str.
func (d *udec) bytesOp(pos int) ([]byte, int, bool) {
	b := d.b
	if pos >= len(b) {
		return nil, 0, false
	}
	switch spec.Opcode(b[pos]) {
	case spec.OpBytes:
	case spec.OpPy2String:
		if d.cfg.Py2StrAsPy3Str {
			return nil, 0, false
		}
	case spec.OpPy3String:
		if !d.cfg.Py3StrAsPy2Str {
			return nil, 0, false
		}
	default:
		return nil, 0, false
	}
	off, n, ok := d.blob(pos)
	if !ok || !d.count() {
		return nil, 0, false
	}
	return d.bytes(off, n), off + n, true
}

func decBytes(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
	x, np, ok := d.bytesOp(pos)
	if !ok {
		if d.none(pos) {
			*(*[]byte)(p) = nil
			return pos + 1, nil
		}
		return 0, errFallback
	}
	*(*[]byte)(p) = x
	return np, nil
}

func decBigInt(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
	return d.bigInt(pos, (*big.Int)(p))
}

func (d *udec) bigInt(pos int, z *big.Int) (int, error) {
	b := d.b
	if pos >= len(b) {
		return 0, errFallback
	}
	switch spec.Opcode(b[pos]) {
	case spec.OpInt, spec.OpLong:
		x, np, ok := d.intOp(pos)
		if !ok {
			return 0, errFallback
		}
		z.SetInt64(x)
		return np, nil
	case spec.OpLongInt, spec.OpLongLong:
		off, n, ok := d.blob(pos)
		if !ok || !d.count() {
			return 0, errFallback
		}
		s := b[off : off+n]
		digits := s
		if len(digits) > 0 && digits[0] == '-' {
			digits = digits[1:]
		}
		if len(digits) == 0 || len(digits) > d.lim.MaxIntDigits {
			return 0, errFallback
		}
		for _, c := range digits {
			if c < '0' || c > '9' {
				return 0, errFallback
			}
		}
		if _, ok := z.SetString(string(s), 10); !ok {
			return 0, errFallback
		}
		return off + n, nil
	}
	return 0, errFallback
}

func decBigIntPtr(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
	pp := (**big.Int)(p)
	if d.none(pos) {
		*pp = nil
		return pos + 1, nil
	}
	if *pp == nil {
		*pp = new(big.Int)
	}
	return d.bigInt(pos, *pp)
}

func decPointer(tc *typeCodec) decFn {
	et := tc.typ.Elem()
	elem := tc.elem
	return func(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
		pp := (*unsafe.Pointer)(p)
		if d.none(pos) {
			*pp = nil
			return pos + 1, nil
		}
		if *pp == nil {
			*pp = reflect.New(et).UnsafePointer()
		}
		return elem.dec(d, pos, end, *pp, depth)
	}
}

// sliceAt sets the slice of type t at p to n zero elements, reusing its
// array when it has room, and returns the array.
func (d *udec) sliceAt(t reflect.Type, p unsafe.Pointer, n int) unsafe.Pointer {
	if t == anySliceType {
		s := (*[]any)(p)
		if cap(*s) >= n && *s != nil {
			*s = (*s)[:n]
			clear(*s)
		} else {
			*s = d.anys(n)
		}
		return unsafe.Pointer(unsafe.SliceData(*s))
	}
	v := reflect.NewAt(t, p).Elem()
	if v.Cap() >= n && !v.IsNil() {
		v.SetLen(n)
		for i := 0; i < n; i++ {
			v.Index(i).SetZero()
		}
	} else if n == 0 {
		// A non-nil empty slice ([] is not None), without an allocation.
		*(*sliceHeader)(p) = sliceHeader{data: unsafe.Pointer(&zeroArray)}
	} else {
		v.SetZero()
		v.Grow(n)
		v.SetLen(n)
	}
	return v.UnsafePointer()
}

func decSlice(tc *typeCodec) decFn {
	t := tc.typ
	elem := tc.elem
	size := elem.size
	return func(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
		b := d.b
		if pos >= len(b) {
			return 0, errFallback
		}
		switch spec.Opcode(b[pos]) {
		case spec.OpNone:
			if !d.count() {
				return 0, errFallback
			}
			*(*[]byte)(p) = nil // any slice header: nil
			return pos + 1, nil
		case spec.OpNewList:
			n, ok := d.newList(pos, depth)
			if !ok {
				return 0, errFallback
			}
			data := d.sliceAt(t, p, n)
			return d.listItems(pos+5, end, n, func(i, pos int, again bool) (int, error) {
				ep := unsafe.Add(data, uintptr(i)*size)
				if again {
					zeroAt(elem.typ, ep)
				}
				return elem.dec(d, pos, -1, ep, depth+1)
			})
		case spec.OpNewDict:
			return 0, errFallback
		}
		op, n, stop, base, bpos, ok := d.seq(pos, end, depth)
		if !ok || op != spec.OpBuildTuple {
			return 0, errFallback
		}
		data := d.sliceAt(t, p, n)
		err := d.forEach(base, n, bpos, func(i, start, end int) error {
			np, err := elem.dec(d, start, end, unsafe.Add(data, uintptr(i)*size), depth+1)
			if err == nil && np != end {
				err = errFallback
			}
			return err
		})
		if err != nil {
			return 0, err
		}
		return stop, nil
	}
}

// zeroAt sets the value of type t at p to its zero value.
func zeroAt(t reflect.Type, p unsafe.Pointer) {
	reflect.NewAt(t, p).Elem().SetZero()
}

// discard decodes and drops the value at pos (an unknown key's value or an
// array's extra element), checking it as fully as a kept value.
func (d *udec) discard(pos, end, depth int) (int, error) {
	var sink any
	return decAny(d, pos, end, unsafe.Pointer(&sink), depth)
}

func decArray(tc *typeCodec) decFn {
	t := tc.typ
	elem := tc.elem
	size := elem.size
	alen := t.Len()
	zero := func(p unsafe.Pointer) {
		reflect.NewAt(t, p).Elem().SetZero()
	}
	return func(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
		b := d.b
		if pos >= len(b) {
			return 0, errFallback
		}
		switch spec.Opcode(b[pos]) {
		case spec.OpNone:
			if !d.count() {
				return 0, errFallback
			}
			return pos + 1, nil
		case spec.OpNewList:
			n, ok := d.newList(pos, depth)
			if !ok {
				return 0, errFallback
			}
			zero(p)
			return d.listItems(pos+5, end, n, func(i, pos int, again bool) (int, error) {
				if i >= alen {
					return d.discard(pos, -1, depth+1)
				}
				ep := unsafe.Add(p, uintptr(i)*size)
				if again {
					zeroAt(elem.typ, ep)
				}
				return elem.dec(d, pos, -1, ep, depth+1)
			})
		case spec.OpNewDict:
			return 0, errFallback
		}
		op, n, stop, base, bpos, ok := d.seq(pos, end, depth)
		if !ok || op != spec.OpBuildTuple {
			return 0, errFallback
		}
		zero(p)
		err := d.forEach(base, n, bpos, func(i, start, end int) error {
			var np int
			var err error
			if i >= alen {
				np, err = d.discard(start, end, depth+1)
			} else {
				np, err = elem.dec(d, start, end, unsafe.Add(p, uintptr(i)*size), depth+1)
			}
			if err == nil && np != end {
				err = errFallback
			}
			return err
		})
		if err != nil {
			return 0, err
		}
		return stop, nil
	}
}

// key reads a dict key at pos that is text.
func (d *udec) key(pos int) (off, n, next int, ok bool) {
	b := d.b
	switch spec.Opcode(b[pos]) {
	case spec.OpPy3String:
		if d.cfg.Py3StrAsPy2Str {
			return 0, 0, 0, false
		}
	case spec.OpUnicode:
	default:
		return 0, 0, 0, false
	}
	off, n, ok = d.blob(pos)
	if !ok || !d.count() {
		return 0, 0, 0, false
	}
	return off, n, off + n, true
}

func decStruct(tc *typeCodec) decFn {
	t := tc.typ
	// Every field a scalar that structItems decodes itself: a tuple may
	// be decoded with scalarTuple. (tc.si is complete here: build sets
	// it before the decoder.)
	scalars := tc.si != nil && tc.si.scalarFields()
	return func(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
		si := tc.si
		b := d.b
		if pos >= len(b) {
			return 0, errFallback
		}
		switch spec.Opcode(b[pos]) {
		case spec.OpNone:
			if !d.count() {
				return 0, errFallback
			}
			return pos + 1, nil
		case spec.OpNewDict:
		case spec.OpNewList:
			n, ok := d.newList(pos, depth)
			if !ok {
				return 0, errFallback
			}
			return d.listItems(pos+5, end, n, func(i, pos int, again bool) (int, error) {
				if i >= len(si.fields) {
					return d.discard(pos, -1, depth+1)
				}
				f := &si.fields[i]
				fp := f.fieldPtr(p, t, true)
				if fp == nil {
					return 0, errFallback
				}
				if again {
					zeroAt(f.typ, fp)
				}
				return f.tc.dec(d, pos, -1, fp, depth+1)
			})
		default:
			if scalars {
				if np, ok := d.scalarTuple(si, p, pos, end, depth); ok {
					return np, nil
				}
			}
			op, n, stop, base, bpos, ok := d.seq(pos, end, depth)
			if !ok || op != spec.OpBuildTuple {
				return 0, errFallback
			}
			err := d.forEach(base, n, bpos, func(i, start, end int) error {
				var np int
				var err error
				if i >= len(si.fields) {
					np, err = d.discard(start, end, depth+1)
				} else {
					f := &si.fields[i]
					fp := f.fieldPtr(p, t, true)
					if fp == nil {
						return errFallback
					}
					np, err = f.tc.dec(d, start, end, fp, depth+1)
				}
				if err == nil && np != end {
					err = errFallback
				}
				return err
			})
			if err != nil {
				return 0, err
			}
			return stop, nil
		}
		if depth+1 > d.lim.MaxDepth || !d.count() {
			return 0, errFallback
		}
		return d.structItems(si, t, p, pos+1, end, depth)
	}
}

// dictEndOp marks the opcodes after which no more items of a dict follow.
var dictEndOp = [256]bool{
	byte(spec.OpSetItem): true, byte(spec.OpStop): true, byte(spec.OpBuildTuple): true,
	byte(spec.OpSet): true, byte(spec.OpFrozenSet): true,
}

// anyKeyOK reports whether the interface k holds a key the fast path
// stores as ToGo would: nil or a comparable value other than *big.Int
// (which ToGo turns into its repr as a key).
func anyKeyOK(k reflect.Value) bool {
	if k.IsNil() {
		return true
	}
	e := k.Elem()
	return e.Type().Comparable() && e.Type() != bigIntPtrType
}

// scalarKey reports whether the opcode at pos starts a value that may be
// stored as a key of a Go map or set with an interface key: a scalar.
func (d *udec) scalarKey(pos int) bool {
	if pos >= len(d.b) {
		return false
	}
	switch spec.Opcode(d.b[pos]) {
	case spec.OpNewDict, spec.OpNewList, spec.OpBuildTuple, spec.OpSet, spec.OpFrozenSet, spec.OpSetItem, spec.OpStop:
		return false
	}
	return true
}

func decMap(tc *typeCodec) decFn {
	t := tc.typ
	kt, et := t.Key(), t.Elem()
	keyAny := kt.Kind() == reflect.Interface
	kc, ec := tc.key, tc.elem
	// Array and struct keys decode from tuples, whose elements the fast
	// path does not check for hashability: leave them to Loads.
	composite := kt.Kind() == reflect.Array || kt.Kind() == reflect.Struct
	return func(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
		if composite {
			return 0, errFallback
		}
		b := d.b
		mv := reflect.NewAt(t, p).Elem()
		if d.none(pos) {
			mv.SetZero()
			return pos + 1, nil
		}
		if pos >= len(b) || b[pos] != byte(spec.OpNewDict) || depth+1 > d.lim.MaxDepth || !d.count() {
			return 0, errFallback
		}
		pos++
		if mv.IsNil() {
			mv.Set(reflect.MakeMap(t))
		}
		kv := reflect.New(kt).Elem()
		ev := reflect.New(et).Elem()
		kp, ep := kv.Addr().UnsafePointer(), ev.Addr().UnsafePointer()
		for !d.dictEnd(pos, end) {
			if keyAny && !d.scalarKey(pos) {
				return 0, errFallback
			}
			kv.SetZero()
			np, err := kc.dec(d, pos, -1, kp, depth+1)
			if err != nil {
				return 0, err
			}
			if keyAny && !anyKeyOK(kv) {
				return 0, errFallback
			}
			ev.SetZero()
			if np, err = ec.dec(d, np, -1, ep, depth+1); err != nil {
				return 0, err
			}
			if !d.setItemAt(np) {
				return 0, errFallback
			}
			mv.SetMapIndex(kv, ev)
			pos = np + 1
		}
		return pos, nil
	}
}

func decStringAnyMap(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
	b := d.b
	mp := (*map[string]any)(p)
	if d.none(pos) {
		*mp = nil
		return pos + 1, nil
	}
	if pos >= len(b) || b[pos] != byte(spec.OpNewDict) {
		return 0, errFallback
	}
	m := *mp
	if m == nil {
		m = map[string]any{}
		*mp = m
	}
	return d.stringAnyItems(pos, end, m, depth)
}

// stringAnyItems decodes the items of the dict at pos into m; any key
// that is not text makes it decline.
func (d *udec) stringAnyItems(pos, end int, m map[string]any, depth int) (int, error) {
	if depth+1 > d.lim.MaxDepth || !d.count() {
		return 0, errFallback
	}
	pos++
	for !d.dictEnd(pos, end) {
		k, vpos, ok := d.text(pos)
		if !ok {
			return 0, errFallback
		}
		var v any
		np, err := decAny(d, vpos, -1, unsafe.Pointer(&v), depth+1)
		if err != nil {
			return 0, err
		}
		if !d.setItemAt(np) {
			return 0, errFallback
		}
		m[k] = v
		pos = np + 1
	}
	return pos, nil
}

func decSet(tc *typeCodec) decFn {
	t := tc.typ
	kt := t.Key()
	keyAny := kt.Kind() == reflect.Interface
	kc := tc.key
	composite := kt.Kind() == reflect.Array || kt.Kind() == reflect.Struct // see decMap
	return func(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
		if composite {
			return 0, errFallback
		}
		mv := reflect.NewAt(t, p).Elem()
		if d.none(pos) {
			mv.SetZero()
			return pos + 1, nil
		}
		if !d.scalarKey(pos) && !(pos < len(d.b) && (d.b[pos] == byte(spec.OpSet) || d.b[pos] == byte(spec.OpFrozenSet))) {
			return 0, errFallback
		}
		op, n, stop, base, bpos, ok := d.seq(pos, end, depth)
		if !ok || op == spec.OpBuildTuple {
			return 0, errFallback
		}
		m := reflect.MakeMapWithSize(t, n)
		kv := reflect.New(kt).Elem()
		kp := kv.Addr().UnsafePointer()
		empty := reflect.New(t.Elem()).Elem()
		err := d.forEach(base, n, bpos, func(i, start, end int) error {
			if keyAny && !d.scalarKey(start) {
				return errFallback
			}
			kv.SetZero()
			np, err := kc.dec(d, start, end, kp, depth+1)
			if err == nil && np != end {
				err = errFallback
			}
			if err == nil && keyAny && !anyKeyOK(kv) {
				err = errFallback
			}
			if err == nil {
				m.SetMapIndex(kv, empty)
			}
			return err
		})
		if err != nil {
			return 0, err
		}
		mv.Set(m)
		return stop, nil
	}
}

// decAny decodes into an empty interface, building the Go types that
// ToGo returns.
func decAny(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
	b := d.b
	ip := (*any)(p)
	if pos >= len(b) {
		return 0, errFallback
	}
	var v any
	var np int
	elements, slots := d.elements, d.listSlots
	switch spec.Opcode(b[pos]) {
	case spec.OpNone:
		if !d.count() {
			return 0, errFallback
		}
		v, np = nil, pos+1
	case spec.OpTrue, spec.OpFalse:
		if !d.count() {
			return 0, errFallback
		}
		v, np = b[pos] == byte(spec.OpTrue), pos+1
	case spec.OpInt, spec.OpLong:
		x, n, ok := d.intOp(pos)
		if !ok {
			return 0, errFallback
		}
		v, np = d.boxInt(x), n
	case spec.OpLongInt, spec.OpLongLong:
		var z big.Int
		n, err := d.bigInt(pos, &z)
		if err != nil {
			return 0, err
		}
		if z.IsInt64() {
			v = z.Int64()
		} else {
			v = &z
		}
		np = n
	case spec.OpFloat:
		if len(b)-pos < 9 || !d.count() {
			return 0, errFallback
		}
		v, np = math.Float64frombits(binary.BigEndian.Uint64(b[pos+1:])), pos+9
	case spec.OpComplex:
		var c complex128
		n, err := decComplex(reflect.Complex128)(d, pos, end, unsafe.Pointer(&c), depth)
		if err != nil {
			return 0, err
		}
		v, np = c, n
	case spec.OpPy3String, spec.OpUnicode, spec.OpPy2String, spec.OpBytes:
		if s, n, ok := d.text(pos); ok {
			v, np = d.boxString(s), n
		} else if x, n, ok := d.bytesOp(pos); ok {
			v, np = x, n
		} else {
			return 0, errFallback
		}
	case spec.OpChannel:
		if len(b)-pos < 5 || !d.count() {
			return 0, errFallback
		}
		id := int32(binary.BigEndian.Uint32(b[pos+1:]))
		if d.channel == nil {
			v = ChannelRef(id)
		} else {
			cv, err := d.channel(id)
			if err != nil || cv == nil {
				return 0, errFallback
			}
			v = cv
		}
		np = pos + 5
	case spec.OpNewDict:
		m := map[string]any{}
		n, err := d.stringAnyItems(pos, end, m, depth)
		if err != nil {
			return 0, err
		}
		v, np = m, n
	case spec.OpNewList:
		n, ok := d.newList(pos, depth)
		if !ok {
			return 0, errFallback
		}
		l := d.anys(n)
		e, err := d.listItems(pos+5, end, n, func(i, pos int, _ bool) (int, error) { // decAny replaces
			return decAny(d, pos, -1, unsafe.Pointer(&l[i]), depth+1)
		})
		if err != nil {
			return 0, err
		}
		v, np = l, e
	default:
		np = -1
	}
	if np >= 0 && d.ended(np, end) {
		*ip = v
		return np, nil
	}
	// A tuple or set, whose first element (if any) is what was just read:
	// decode it again as a whole, uncounting that element.
	d.elements, d.listSlots = elements, slots
	op, n, stop, base, bpos, ok := d.seq(pos, end, depth)
	if !ok {
		return 0, errFallback
	}
	if op == spec.OpBuildTuple {
		l := d.anys(n)
		err := d.forEach(base, n, bpos, func(i, start, end int) error {
			np, err := decAny(d, start, end, unsafe.Pointer(&l[i]), depth+1)
			if err == nil && np != end {
				err = errFallback
			}
			return err
		})
		if err != nil {
			return 0, err
		}
		*ip = l
		return stop, nil
	}
	set := make(SetOf[any], n)
	err := d.forEach(base, n, bpos, func(i, start, end int) error {
		if !d.scalarKey(start) {
			return errFallback
		}
		var e any
		np, err := decAny(d, start, end, unsafe.Pointer(&e), depth+1)
		if err == nil && (np != end || !anyKeyOK(reflect.ValueOf(&e).Elem())) {
			err = errFallback
		}
		if err == nil {
			set[e] = struct{}{}
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	*ip = set
	return stop, nil
}

// decStrMap decodes a dict into a map[string]V whose values read reads
// directly (no reflection per item).
func decStrMap[V any](read func(d *udec, pos int) (V, int, bool)) decFn {
	return func(d *udec, pos, end int, p unsafe.Pointer, depth int) (int, error) {
		b := d.b
		mp := (*map[string]V)(p)
		if d.none(pos) {
			*mp = nil
			return pos + 1, nil
		}
		if pos >= len(b) || b[pos] != byte(spec.OpNewDict) || depth+1 > d.lim.MaxDepth || !d.count() {
			return 0, errFallback
		}
		pos++
		m := *mp
		if m == nil {
			m = map[string]V{}
			*mp = m
		}
		for !d.dictEnd(pos, end) {
			k, vpos, ok := d.text(pos)
			if !ok {
				return 0, errFallback
			}
			v, np, ok := read(d, vpos)
			if !ok || !d.setItemAt(np) {
				return 0, errFallback
			}
			m[k] = v
			pos = np + 1
		}
		return pos, nil
	}
}

func readInt(d *udec, pos int) (int, int, bool) {
	x, np, ok := d.intOp(pos)
	if !ok || x != int64(int(x)) {
		return 0, 0, false
	}
	return int(x), np, true
}

func intOpOf(d *udec, pos int) (int64, int, bool) { return d.intOp(pos) }

func d2i64(f func(d *udec, pos int) (int64, int, bool)) func(d *udec, pos int) (int64, int, bool) {
	return f
}

func readString(d *udec, pos int) (string, int, bool) { return d.text(pos) }

func readFloat(d *udec, pos int) (float64, int, bool) {
	b := d.b
	if pos < len(b) && b[pos] == byte(spec.OpFloat) && len(b)-pos >= 9 && d.count() {
		return math.Float64frombits(binary.BigEndian.Uint64(b[pos+1:])), pos + 9, true
	}
	return 0, 0, false
}

func readBool(d *udec, pos int) (bool, int, bool) {
	b := d.b
	if pos < len(b) && (b[pos] == byte(spec.OpTrue) || b[pos] == byte(spec.OpFalse)) && d.count() {
		return b[pos] == byte(spec.OpTrue), pos + 1, true
	}
	return false, 0, false
}
