package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"sync"
	"unsafe"

	"github.com/execnet-conform/execnet-conform/spec"
)

// Marshal returns the wire form (no version byte) of the Go value v,
// with DefaultLimits.
//
// The rules follow encoding/json's. nil, a nil pointer, slice, map or
// interface encode as None; bool as bool; every integer kind, big.Int and
// *big.Int as int; float32 and float64 as float; complex64 and complex128
// as complex; string as text (it must be valid UTF-8); []byte as bytes;
// other slices and arrays as a list, or as a tuple for a struct field
// tagged `execnet:",tuple"` (an array as a map key or set element is
// always a tuple, which is hashable); SetOf as a set; other maps as a dict (in Go's
// map order, which varies: use a struct or *Dict for a fixed order); a
// struct as a dict of its exported fields under their names or
// `execnet:"name"` tags, leaving out fields tagged `execnet:"-"` and
// empty `omitempty` fields, with the fields of embedded structs promoted.
// A struct with a field `_ struct{} `execnet:",tuple"“ encodes as the
// tuple of its fields. A codec.Value is encoded as Dumps encodes it, and
// a Marshaler as the Value it returns. Cycles fail on MaxDepth.
func Marshal(v any) ([]byte, error) {
	var e Encoder
	return e.Marshal(v)
}

// AppendMarshal appends the wire form of v to dst.
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	var e Encoder
	return e.AppendMarshal(dst, v)
}

// MarshalVersioned returns the public form of v: the format version byte
// (spec.FormatV1 or spec.FormatV2) followed by the wire form.
func MarshalVersioned(v any, version byte) ([]byte, error) {
	if version != spec.FormatV1 && version != spec.FormatV2 {
		return nil, &EncodeError{Err: ErrVersion, Detail: fmt.Sprintf("format version %d, want 1 or 2", version)}
	}
	var e Encoder
	return e.AppendMarshal([]byte{version}, v)
}

var marshalBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Marshal is the package-level Marshal with e's limits.
func (e *Encoder) Marshal(v any) ([]byte, error) {
	bp := marshalBufs.Get().(*[]byte)
	out, err := e.AppendMarshal((*bp)[:0], v)
	if err != nil {
		return nil, err
	}
	res := make([]byte, len(out))
	copy(res, out)
	if cap(out) <= 64<<10 {
		*bp = out[:0]
		marshalBufs.Put(bp)
	}
	return res, nil
}

// AppendMarshal is the package-level AppendMarshal with e's limits.
func (e *Encoder) AppendMarshal(dst []byte, v any) ([]byte, error) {
	st := uenc{lim: e.Limits.withDefaults()}
	n := len(dst)
	out, err := st.any(dst, v, 0)
	if err != nil {
		return dst[:n], err
	}
	return append(out, byte(spec.OpStop)), nil
}

// encFn appends the wire form of the Go value at p.
type encFn func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error)

type uenc struct {
	lim Limits
	key bool // encoding a dict key or set element: arrays become tuples
}

// eface is the layout of an empty interface.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// isDirect reports whether values of t are stored in an interface's data
// word itself rather than pointed to by it: pointer-shaped types.
func isDirect(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Struct:
		return t.NumField() == 1 && isDirect(t.Field(0).Type)
	case reflect.Array:
		return t.Len() == 1 && isDirect(t.Elem())
	}
	return false
}

// any encodes the dynamic value of an interface.
func (e *uenc) any(b []byte, v any, depth int) ([]byte, error) {
	ef := *(*eface)(unsafe.Pointer(&v))
	if ef.typ == nil {
		return append(b, byte(spec.OpNone)), nil
	}
	t := reflect.TypeOf(v)
	tc := codecFor(t)
	if !isDirect(t) {
		return tc.enc(e, b, ef.data, depth)
	}
	if t.Kind() == reflect.Pointer && !tc.custom {
		if ef.data == nil {
			return append(b, byte(spec.OpNone)), nil
		}
		if depth >= e.lim.MaxDepth {
			return b, e.depthErr()
		}
		return tc.elem.enc(e, b, ef.data, depth)
	}
	box := new(unsafe.Pointer) // other pointer-shaped values: rare
	*box = ef.data
	return tc.enc(e, b, unsafe.Pointer(box), depth)
}

// anyAt encodes the interface at p (of any interface type) without
// copying it.
func (e *uenc) anyAt(b []byte, p unsafe.Pointer, t reflect.Type, depth int) ([]byte, error) {
	var v any
	if t.NumMethod() == 0 {
		v = *(*any)(p)
	} else {
		v = reflect.NewAt(t, p).Elem().Interface()
	}
	switch x := v.(type) { // the types Unmarshal gives an any, without a codec lookup
	case nil:
		return append(b, byte(spec.OpNone)), nil
	case int64:
		return appendInt(b, x), nil
	case string:
		return encString(e, b, unsafe.Pointer(&x), depth)
	case float64:
		return binary.BigEndian.AppendUint64(append(b, byte(spec.OpFloat)), math.Float64bits(x)), nil
	case bool:
		if x {
			return append(b, byte(spec.OpTrue)), nil
		}
		return append(b, byte(spec.OpFalse)), nil
	}
	if depth >= e.lim.MaxDepth {
		return b, e.depthErr()
	}
	dt := reflect.TypeOf(v)
	tc := codecFor(dt)
	if t.NumMethod() == 0 {
		ef := (*eface)(p)
		if !isDirect(dt) {
			return tc.enc(e, b, ef.data, depth)
		}
		return tc.enc(e, b, unsafe.Pointer(&ef.data), depth)
	}
	return e.any(b, v, depth)
}

// value encodes a codec.Value as Dumps does.
func (e *uenc) value(b []byte, v Value, depth int) ([]byte, error) {
	st := encState{lim: e.lim}
	if v == nil {
		return append(b, byte(spec.OpNone)), nil
	}
	return st.enc(b, v, depth)
}

func (e *uenc) depthErr() error {
	return &EncodeError{Err: ErrLimit, Detail: fmt.Sprintf("nesting deeper than MaxDepth %d (a cycle?)", e.lim.MaxDepth)}
}

// encoderFor returns the encoder of the type of tc.
func encoderFor(tc *typeCodec) encFn {
	t := tc.typ
	if t.Implements(marshalerType) {
		tc.custom = true
		return encMarshaler(t, false)
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(marshalerType) {
		tc.custom = true
		return encMarshaler(t, true)
	}
	if t.Kind() != reflect.Interface && t.Implements(valueType) {
		tc.custom = true
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			return e.value(b, reflect.NewAt(t, p).Elem().Interface().(Value), depth)
		}
	}
	switch t {
	case bigIntType:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			return e.bigInt(b, (*big.Int)(p))
		}
	case bigIntPtrType:
		tc.custom = true
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			z := *(**big.Int)(p)
			if z == nil {
				return append(b, byte(spec.OpNone)), nil
			}
			return e.bigInt(b, z)
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			if *(*bool)(p) {
				return append(b, byte(spec.OpTrue)), nil
			}
			return append(b, byte(spec.OpFalse)), nil
		}
	case reflect.Int:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			return appendInt(b, int64(*(*int)(p))), nil
		}
	case reflect.Int64:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			return appendInt(b, *(*int64)(p)), nil
		}
	case reflect.Int32:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			return appendInt32(b, spec.OpInt, *(*int32)(p)), nil
		}
	case reflect.Int16:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			return appendInt32(b, spec.OpInt, int32(*(*int16)(p))), nil
		}
	case reflect.Int8:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			return appendInt32(b, spec.OpInt, int32(*(*int8)(p))), nil
		}
	case reflect.Uint, reflect.Uintptr, reflect.Uint64:
		size := t.Size()
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			var u uint64
			if size == 8 {
				u = *(*uint64)(p)
			} else {
				u = uint64(*(*uint32)(p))
			}
			return appendUint(b, u), nil
		}
	case reflect.Uint32:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			return appendUint(b, uint64(*(*uint32)(p))), nil
		}
	case reflect.Uint16:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			return appendInt32(b, spec.OpInt, int32(*(*uint16)(p))), nil
		}
	case reflect.Uint8:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			return appendInt32(b, spec.OpInt, int32(*(*uint8)(p))), nil
		}
	case reflect.Float64:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			b = append(b, byte(spec.OpFloat))
			return binary.BigEndian.AppendUint64(b, math.Float64bits(*(*float64)(p))), nil
		}
	case reflect.Float32:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			b = append(b, byte(spec.OpFloat))
			return binary.BigEndian.AppendUint64(b, math.Float64bits(float64(*(*float32)(p)))), nil
		}
	case reflect.Complex128, reflect.Complex64:
		c64 := t.Kind() == reflect.Complex64
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			var c complex128
			if c64 {
				c = complex128(*(*complex64)(p))
			} else {
				c = *(*complex128)(p)
			}
			b = append(b, byte(spec.OpComplex))
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(real(c)))
			return binary.BigEndian.AppendUint64(b, math.Float64bits(imag(c))), nil
		}
	case reflect.String:
		return encString
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return encBytes
		}
		return encSeq(tc, false)
	case reflect.Array:
		return encSeq(tc, false)
	case reflect.Pointer:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			q := *(*unsafe.Pointer)(p)
			if q == nil {
				return append(b, byte(spec.OpNone)), nil
			}
			if depth >= e.lim.MaxDepth {
				return b, e.depthErr()
			}
			return tc.elem.enc(e, b, q, depth)
		}
	case reflect.Interface:
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			return e.anyAt(b, p, t, depth)
		}
	case reflect.Map:
		if t.Implements(setMarkerType) {
			return encSet(tc)
		}
		switch t {
		case reflect.TypeFor[map[string]int]():
			return encStrMap(func(b []byte, v int) ([]byte, error) { return appendInt(b, int64(v)), nil })
		case reflect.TypeFor[map[string]int64]():
			return encStrMap(func(b []byte, v int64) ([]byte, error) { return appendInt(b, v), nil })
		case reflect.TypeFor[map[string]string]():
			return encStrMap(func(b []byte, v string) ([]byte, error) { return encString(nil, b, unsafe.Pointer(&v), 0) })
		case reflect.TypeFor[map[string]float64]():
			return encStrMap(func(b []byte, v float64) ([]byte, error) {
				return binary.BigEndian.AppendUint64(append(b, byte(spec.OpFloat)), math.Float64bits(v)), nil
			})
		}
		return encMap(tc)
	case reflect.Struct:
		return encStruct(tc, false)
	}
	return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
		return b, &EncodeError{Err: ErrUnsupported, Detail: fmt.Sprintf("Go type %s is not in the data model", t)}
	}
}

// fieldEncoder returns the encoder of a struct field: its type's, or the
// tuple form when the field is tagged so.
func fieldEncoder(f *field) encFn {
	tc := f.tc
	if !f.tuple {
		return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
			return tc.enc(e, b, p, depth)
		}
	}
	switch f.typ.Kind() {
	case reflect.Slice, reflect.Array:
		if f.typ != bytesType {
			return encSeq(tc, true)
		}
	case reflect.Struct:
		return encStruct(tc, true)
	}
	return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
		return tc.enc(e, b, p, depth)
	}
}

func encMarshaler(t reflect.Type, viaPtr bool) encFn {
	return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
		var m Marshaler
		if viaPtr {
			m = reflect.NewAt(t, p).Interface().(Marshaler)
		} else {
			v := reflect.NewAt(t, p).Elem()
			if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
				return append(b, byte(spec.OpNone)), nil
			}
			m = v.Interface().(Marshaler)
		}
		v, err := m.MarshalExecnet()
		if err != nil {
			return b, &EncodeError{Err: ErrUnsupported, Detail: fmt.Sprintf("%s.MarshalExecnet: %v", t, err)}
		}
		return e.value(b, v, depth)
	}
}

func appendInt(b []byte, x int64) []byte {
	if x >= math.MinInt32 && x <= math.MaxInt32 {
		return appendInt32(b, spec.OpInt, int32(x))
	}
	return appendDecimal(b, x)
}

func appendUint(b []byte, u uint64) []byte {
	if u <= math.MaxInt32 {
		return appendInt32(b, spec.OpInt, int32(u))
	}
	start := len(b)
	b = append(b, byte(spec.OpLongInt), 0, 0, 0, 0)
	b = strconv.AppendUint(b, u, 10)
	binary.BigEndian.PutUint32(b[start+1:], uint32(len(b)-start-5))
	return b
}

func (e *uenc) bigInt(b []byte, z *big.Int) ([]byte, error) {
	if z.IsInt64() {
		return appendInt(b, z.Int64()), nil
	}
	st := encState{lim: e.lim}
	return st.encBig(b, BigInt{V: z})
}

func encString(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
	s := *(*string)(p)
	if len(s) > maxLen {
		return b, &EncodeError{Err: ErrTooLong, Detail: fmt.Sprintf("string of %d bytes", len(s))}
	}
	if !validUTF8(unsafe.Slice(unsafe.StringData(s), len(s))) {
		return b, &EncodeError{Err: ErrBadUTF8, Detail: "string holds invalid UTF-8 " + badUTF8At(s)}
	}
	b = appendInt32(b, spec.OpPy3String, int32(len(s)))
	return append(b, s...), nil
}

func encBytes(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
	x := *(*[]byte)(p)
	if x == nil {
		return append(b, byte(spec.OpNone)), nil
	}
	if len(x) > maxLen {
		return b, &EncodeError{Err: ErrTooLong, Detail: fmt.Sprintf("[]byte of %d bytes", len(x))}
	}
	b = appendInt32(b, spec.OpBytes, int32(len(x)))
	return append(b, x...), nil
}

// encSeq encodes a slice or an array as a list, or as a tuple.
func encSeq(tc *typeCodec, tuple bool) encFn {
	isSlice := tc.typ.Kind() == reflect.Slice
	alen := 0
	if !isSlice {
		alen = tc.typ.Len()
	}
	elem := tc.elem
	size := elem.size
	return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
		n := alen
		data := p
		if isSlice {
			s := (*[]byte)(p) // any slice header
			if *s == nil {
				return append(b, byte(spec.OpNone)), nil
			}
			n = len(*s)
			data = unsafe.Pointer(unsafe.SliceData(*s))
		}
		if depth >= e.lim.MaxDepth {
			return b, e.depthErr()
		}
		if n > maxLen {
			return b, &EncodeError{Err: ErrTooLong, Detail: fmt.Sprintf("sequence of %d elements", n)}
		}
		var err error
		tuple := tuple || (e.key && !isSlice)
		if !tuple {
			b = appendInt32(b, spec.OpNewList, int32(n))
		}
		for i := 0; i < n; i++ {
			if !tuple {
				b = appendInt32(b, spec.OpInt, int32(i))
			}
			if b, err = elem.enc(e, b, unsafe.Add(data, uintptr(i)*size), depth+1); err != nil {
				return b, prependPath(err, "["+strconv.Itoa(i)+"]")
			}
			if !tuple {
				b = append(b, byte(spec.OpSetItem))
			}
		}
		if tuple {
			b = appendInt32(b, spec.OpBuildTuple, int32(n))
		}
		return b, nil
	}
}

func encMap(tc *typeCodec) encFn {
	t := tc.typ
	return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
		mv := reflect.NewAt(t, p).Elem()
		if mv.IsNil() {
			return append(b, byte(spec.OpNone)), nil
		}
		if depth >= e.lim.MaxDepth {
			return b, e.depthErr()
		}
		b = append(b, byte(spec.OpNewDict))
		kv := reflect.New(t.Key()).Elem()
		ev := reflect.New(t.Elem()).Elem()
		kp, ep := kv.Addr().UnsafePointer(), ev.Addr().UnsafePointer()
		it := mv.MapRange()
		var err error
		for it.Next() {
			kv.SetIterKey(it)
			ev.SetIterValue(it)
			e.key = true
			b, err = tc.key.enc(e, b, kp, depth+1)
			e.key = false
			if err != nil {
				return b, prependPath(err, "<key>")
			}
			if b, err = tc.elem.enc(e, b, ep, depth+1); err != nil {
				return b, prependPath(err, mapSeg(kv))
			}
			b = append(b, byte(spec.OpSetItem))
		}
		return b, nil
	}
}

func mapSeg(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return "." + k.String()
	}
	return fmt.Sprintf("[%v]", k.Interface())
}

func encSet(tc *typeCodec) encFn {
	t := tc.typ
	return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
		mv := reflect.NewAt(t, p).Elem()
		if mv.IsNil() {
			return append(b, byte(spec.OpNone)), nil
		}
		if depth >= e.lim.MaxDepth {
			return b, e.depthErr()
		}
		kv := reflect.New(t.Key()).Elem()
		kp := kv.Addr().UnsafePointer()
		it := mv.MapRange()
		var err error
		for it.Next() {
			kv.SetIterKey(it)
			e.key = true
			b, err = tc.key.enc(e, b, kp, depth+1)
			e.key = false
			if err != nil {
				return b, prependPath(err, "{}")
			}
		}
		return appendInt32(b, spec.OpSet, int32(mv.Len())), nil
	}
}

// isEmpty is encoding/json's test for omitempty.
func isEmpty(t reflect.Type, p unsafe.Pointer) bool {
	v := reflect.NewAt(t, p).Elem()
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

func encStruct(tc *typeCodec, asTuple bool) encFn {
	t := tc.typ
	var once sync.Once
	var encs []encFn
	return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
		si := tc.si
		once.Do(func() {
			encs = make([]encFn, len(si.fields))
			for i := range si.fields {
				encs[i] = fieldEncoder(&si.fields[i])
			}
		})
		if depth >= e.lim.MaxDepth {
			return b, e.depthErr()
		}
		tuple := asTuple || si.tuple
		if !tuple {
			b = append(b, byte(spec.OpNewDict))
		}
		var err error
		n := 0
		for i := range si.fields {
			f := &si.fields[i]
			fp := unsafe.Add(p, f.offset)
			if !f.direct {
				fp = f.fieldPtr(p, t, false)
				if fp == nil {
					continue // behind a nil embedded pointer
				}
			}
			if tuple {
				if b, err = encs[i](e, b, fp, depth+1); err != nil {
					return b, prependPath(err, "."+f.name)
				}
				n++
				continue
			}
			if f.omitEmpty && isEmpty(f.typ, fp) {
				continue
			}
			b = append(b, f.key...)
			if b, err = encs[i](e, b, fp, depth+1); err != nil {
				return b, prependPath(err, "."+f.name)
			}
			b = append(b, byte(spec.OpSetItem))
		}
		if tuple {
			b = appendInt32(b, spec.OpBuildTuple, int32(n))
		}
		return b, nil
	}
}

// encStrMap encodes a map[string]V whose values put writes directly.
func encStrMap[V any](put func(b []byte, v V) ([]byte, error)) encFn {
	return func(e *uenc, b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
		m := *(*map[string]V)(p)
		if m == nil {
			return append(b, byte(spec.OpNone)), nil
		}
		if depth >= e.lim.MaxDepth {
			return b, e.depthErr()
		}
		b = append(b, byte(spec.OpNewDict))
		var err error
		for k, v := range m {
			if b, err = encString(e, b, unsafe.Pointer(&k), depth+1); err != nil {
				return b, prependPath(err, "<key>")
			}
			if b, err = put(b, v); err != nil {
				return b, prependPath(err, "."+k)
			}
			b = append(b, byte(spec.OpSetItem))
		}
		return b, nil
	}
}
