package codec

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
)

// assigner stores a decoded Value into a Go value: the general path of
// Unmarshal, which also gives its errors their path.
type assigner struct {
	strict bool
}

// pathString renders a path kept as segments, outermost first.
func pathString(segs []string) string {
	return strings.Join(segs, "")
}

func (a *assigner) typeErr(path []string, format string, args ...any) error {
	return &UnmarshalTypeError{Path: pathString(path), Err: ErrType, Detail: fmt.Sprintf(format, args...)}
}

// withSeg returns path extended by seg; segments are kept innermost last.
func withSeg(path []string, seg string) []string {
	return append(path[:len(path):len(path)], seg)
}

func kindWordOf(v Value) string {
	switch x := v.(type) {
	case Int:
		return "int " + strconv.FormatInt(int64(x), 10)
	case BigInt:
		return "int " + shortRepr(x)
	}
	return kindOf(v).String()
}

func (a *assigner) assign(v Value, rv reflect.Value, path []string) error {
	t := rv.Type()
	if t == valueType {
		rv.Set(reflect.ValueOf(&v).Elem())
		return nil
	}
	if t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(unmarshalerType) {
		if err := rv.Addr().Interface().(Unmarshaler).UnmarshalExecnet(v); err != nil {
			return &UnmarshalTypeError{Path: pathFor(path), Err: ErrType, Detail: err.Error()}
		}
		return nil
	}
	if _, ok := v.(None); ok {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			rv.SetZero()
		}
		return nil
	}
	switch t {
	case bigIntType, bigIntPtrType:
		var z *big.Int
		switch x := v.(type) {
		case Int:
			z = big.NewInt(int64(x))
		case BigInt:
			z = new(big.Int).Set(x.V)
		default:
			return a.typeErr(path, "%s into %s", kindOf(v), t)
		}
		if t == bigIntType {
			rv.Set(reflect.ValueOf(z).Elem())
		} else {
			rv.Set(reflect.ValueOf(z))
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			rv.Set(reflect.New(t.Elem()))
		}
		return a.assign(v, rv.Elem(), path)
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return a.typeErr(path, "%s into %s", kindOf(v), t)
		}
		g, err := toGo(v)
		if err != nil {
			return a.typeErr(path, "%s into %s: %v", kindOf(v), t, err)
		}
		if g == nil {
			rv.SetZero()
		} else {
			rv.Set(reflect.ValueOf(g))
		}
		return nil
	case reflect.Bool:
		b, ok := v.(Bool)
		if !ok {
			return a.typeErr(path, "%s into %s", kindOf(v), t)
		}
		rv.SetBool(bool(b))
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, ok := v.(Int)
		if !ok {
			return a.typeErr(path, "%s into %s", kindOf(v), t)
		}
		if rv.OverflowInt(int64(x)) {
			return a.typeErr(path, "%s overflows %s", kindWordOf(v), t)
		}
		rv.SetInt(int64(x))
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		var u uint64
		switch x := v.(type) {
		case Int:
			if x < 0 {
				return a.typeErr(path, "%s overflows %s", kindWordOf(v), t)
			}
			u = uint64(x)
		case BigInt:
			if !x.V.IsUint64() {
				return a.typeErr(path, "%s overflows %s", kindWordOf(v), t)
			}
			u = x.V.Uint64()
		default:
			return a.typeErr(path, "%s into %s", kindOf(v), t)
		}
		if rv.OverflowUint(u) {
			return a.typeErr(path, "%s overflows %s", kindWordOf(v), t)
		}
		rv.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		var f float64
		switch x := v.(type) {
		case Float:
			f = float64(x)
		case Int:
			if !exactFloat(int64(x)) {
				return a.typeErr(path, "%s is not exact as %s", kindWordOf(v), t)
			}
			f = float64(x)
		default:
			return a.typeErr(path, "%s into %s", kindOf(v), t)
		}
		if t.Kind() == reflect.Float32 && math.Abs(f) > math.MaxFloat32 && !math.IsInf(f, 0) {
			return a.typeErr(path, "float %v overflows %s", f, t)
		}
		rv.SetFloat(f)
		return nil
	case reflect.Complex64, reflect.Complex128:
		c, ok := v.(Complex)
		if !ok {
			return a.typeErr(path, "%s into %s", kindOf(v), t)
		}
		if t.Kind() == reflect.Complex64 && (math.Abs(real(c)) > math.MaxFloat32 && !math.IsInf(real(c), 0) ||
			math.Abs(imag(c)) > math.MaxFloat32 && !math.IsInf(imag(c), 0)) {
			return a.typeErr(path, "complex overflows %s", t)
		}
		rv.SetComplex(complex128(c))
		return nil
	case reflect.String:
		s, ok := v.(Str)
		if !ok {
			return a.typeErr(path, "%s into %s", kindOf(v), t)
		}
		rv.SetString(string(s))
		return nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			var b []byte
			switch x := v.(type) {
			case Bytes:
				b = x
			case Py2Str:
				b = x
			default:
				return a.typeErr(path, "%s into %s", kindOf(v), t)
			}
			rv.SetBytes(append([]byte{}, b...))
			return nil
		}
		elems, ok := seqOf(v)
		if !ok {
			return a.typeErr(path, "%s into %s", kindOf(v), t)
		}
		s := reflect.MakeSlice(t, len(elems), len(elems))
		for i, e := range elems {
			if err := a.assign(e, s.Index(i), withSeg(path, "["+strconv.Itoa(i)+"]")); err != nil {
				return err
			}
		}
		rv.Set(s)
		return nil
	case reflect.Array:
		elems, ok := seqOf(v)
		if !ok {
			return a.typeErr(path, "%s into %s", kindOf(v), t)
		}
		rv.SetZero()
		for i, e := range elems {
			if i >= rv.Len() {
				break
			}
			if err := a.assign(e, rv.Index(i), withSeg(path, "["+strconv.Itoa(i)+"]")); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if t.Implements(setMarkerType) {
			var elems []Value
			switch x := v.(type) {
			case Set:
				elems = x
			case FrozenSet:
				elems = x
			default:
				return a.typeErr(path, "%s into %s", kindOf(v), t)
			}
			m := reflect.MakeMapWithSize(t, len(elems))
			empty := reflect.New(t.Elem()).Elem()
			for i, e := range elems {
				k := reflect.New(t.Key()).Elem()
				if err := a.assign(e, k, withSeg(path, "{"+strconv.Itoa(i)+"}")); err != nil {
					return err
				}
				m.SetMapIndex(k, empty)
			}
			rv.Set(m)
			return nil
		}
		d, ok := v.(*Dict)
		if !ok {
			return a.typeErr(path, "%s into %s", kindOf(v), t)
		}
		if rv.IsNil() {
			rv.Set(reflect.MakeMapWithSize(t, d.Len()))
		}
		for i, it := range d.Items() {
			k := reflect.New(t.Key()).Elem()
			if err := a.assign(it.Key, k, withSeg(path, "<key "+strconv.Itoa(i)+">")); err != nil {
				return err
			}
			e := reflect.New(t.Elem()).Elem()
			if err := a.assign(it.Value, e, withSeg(path, keySeg(it.Key))); err != nil {
				return err
			}
			rv.SetMapIndex(k, e)
		}
		return nil
	case reflect.Struct:
		return a.assignStruct(v, rv, path)
	}
	return a.typeErr(path, "%s into %s (a Go type outside the data model)", kindOf(v), t)
}

// keySeg is the path segment of a dict value under key k.
func keySeg(k Value) string {
	if s, ok := k.(Str); ok {
		return "." + string(s)
	}
	return "[" + shortRepr(k) + "]"
}

func pathFor(path []string) string { return pathString(path) }

// seqOf returns the elements of a list or tuple.
func seqOf(v Value) ([]Value, bool) {
	switch x := v.(type) {
	case List:
		return x, true
	case Tuple:
		return x, true
	}
	return nil, false
}

func (a *assigner) assignStruct(v Value, rv reflect.Value, path []string) error {
	t := rv.Type()
	si := codecFor(t).si
	if elems, ok := seqOf(v); ok {
		for i, e := range elems {
			if i >= len(si.fields) {
				break
			}
			f := &si.fields[i]
			fv, ok := fieldValue(rv, f)
			if !ok {
				return a.typeErr(path, "cannot set field %s of %s (nil embedded pointer to an unexported type)", f.name, t)
			}
			if err := a.assign(e, fv, withSeg(path, "."+f.name)); err != nil {
				return err
			}
		}
		return nil
	}
	d, ok := v.(*Dict)
	if !ok {
		return a.typeErr(path, "%s into %s", kindOf(v), t)
	}
	for i, it := range d.Items() {
		k, ok := it.Key.(Str)
		if !ok {
			return a.typeErr(withSeg(path, "<key "+strconv.Itoa(i)+">"), "%s key into %s (struct keys are text)", kindOf(it.Key), t)
		}
		var f *field
		for j := range si.fields {
			if si.fields[j].name == string(k) {
				f = &si.fields[j]
				break
			}
		}
		if f == nil {
			if a.strict {
				return &UnmarshalTypeError{Path: pathString(path), Err: ErrUnknownKey, Detail: fmt.Sprintf("unknown key %s for %s", shortRepr(k), t)}
			}
			continue
		}
		fv, ok := fieldValue(rv, f)
		if !ok {
			return a.typeErr(path, "cannot set field %s of %s (nil embedded pointer to an unexported type)", f.name, t)
		}
		if err := a.assign(it.Value, fv, withSeg(path, "."+f.name)); err != nil {
			return err
		}
	}
	return nil
}

// fieldValue returns the settable field f of the struct rv, allocating
// embedded pointers on the way.
func fieldValue(rv reflect.Value, f *field) (reflect.Value, bool) {
	if f.direct {
		return rv.FieldByIndex(f.index), true
	}
	p := f.fieldPtr(rv.Addr().UnsafePointer(), rv.Type(), true)
	if p == nil {
		return reflect.Value{}, false
	}
	return reflect.NewAt(f.typ, p).Elem(), true
}

// ToGo converts a Value to plain Go values: None to nil, Bool to bool,
// Int to int64, BigInt to *big.Int, Float to float64, Complex to
// complex128, Str to string, Bytes and Py2Str to []byte, List and Tuple
// to []any, Dict to map[string]any when every key is text (else
// map[any]any), Set and FrozenSet to SetOf[any], and a channel to itself.
// A tuple used as a key or set element becomes an array ([n]any), which
// Go can compare; a key Go cannot compare even so (a frozenset inside a
// tuple), bytes or an int beyond int64 becomes its Python repr.
func ToGo(v Value) any {
	g, _ := toGo(v)
	return g
}

func toGo(v Value) (any, error) {
	switch x := v.(type) {
	case nil, None:
		return nil, nil
	case Bool:
		return bool(x), nil
	case Int:
		return int64(x), nil
	case BigInt:
		return new(big.Int).Set(x.V), nil
	case Float:
		return float64(x), nil
	case Complex:
		return complex128(x), nil
	case Str:
		return string(x), nil
	case Bytes:
		return append([]byte{}, x...), nil
	case Py2Str:
		return append([]byte{}, x...), nil
	case List:
		return seqToGo(x)
	case Tuple:
		return seqToGo(x)
	case *Dict:
		allText := true
		for _, it := range x.Items() {
			if _, ok := it.Key.(Str); !ok {
				allText = false
				break
			}
		}
		if allText {
			m := make(map[string]any, x.Len())
			for _, it := range x.Items() {
				g, err := toGo(it.Value)
				if err != nil {
					return nil, err
				}
				m[string(it.Key.(Str))] = g
			}
			return m, nil
		}
		m := make(map[any]any, x.Len())
		for _, it := range x.Items() {
			k := keyToGo(it.Key)
			g, err := toGo(it.Value)
			if err != nil {
				return nil, err
			}
			m[k] = g
		}
		return m, nil
	case Set:
		return setToGo(x), nil
	case FrozenSet:
		return setToGo(x), nil
	case ChannelValue:
		return x, nil
	}
	return nil, fmt.Errorf("%T is not a data model value", v)
}

func seqToGo(x []Value) (any, error) {
	out := make([]any, len(x))
	for i, e := range x {
		g, err := toGo(e)
		if err != nil {
			return nil, err
		}
		out[i] = g
	}
	return out, nil
}

func setToGo(x []Value) SetOf[any] {
	s := make(SetOf[any], len(x))
	for _, e := range x {
		s[keyToGo(e)] = struct{}{}
	}
	return s
}

// keyToGo converts a hashable Value to a comparable Go value.
func keyToGo(k Value) any {
	if t, ok := k.(Tuple); ok {
		arr := reflect.New(reflect.ArrayOf(len(t), anyType)).Elem()
		for i, e := range t {
			g := keyToGo(e)
			if g != nil {
				arr.Index(i).Set(reflect.ValueOf(g))
			}
		}
		if !arr.Comparable() {
			return Repr(k)
		}
		return arr.Interface()
	}
	switch k.(type) {
	case Set, FrozenSet, List, *Dict, Bytes, Py2Str, BigInt:
		return Repr(k)
	}
	g, _ := toGo(k)
	return g
}

// exactFloat reports whether float64(x) is exactly x.
func exactFloat(x int64) bool {
	f := float64(x)
	return f >= -(1<<63) && f < 1<<63 && int64(f) == x
}
