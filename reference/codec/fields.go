package codec

import (
	"math/big"
	"reflect"
	"strings"
	"sync"
	"unsafe"
)

// field is one encoded field of a struct type, flattened through
// embedded structs as encoding/json flattens them.
type field struct {
	name      string
	key       []byte       // the key's wire form: PY3STRING, length, name
	index     []int        // reflect index path, for embedded pointers
	offset    uintptr      // byte offset from the struct start, when direct
	direct    bool         // no pointer on the index path: offset is valid
	typ       reflect.Type // the field's type
	omitEmpty bool
	tuple     bool // encode a slice, array or struct field as a tuple
	tc        *typeCodec

	// For the struct decoder's loop (unmarshal_inline.go): the kind it
	// decodes itself (fkOther: none; only for direct fields), and the
	// key's length word and name as words that keyAt compares.
	kind          fieldKind
	klen, kneed   int
	kw0, km0, kw1 uint64
	// For scalarRun: the key and value opcode as words (setPrefix).
	plen, need    int
	pw0, pm0, pw1 uint64
}

// structInfo is the cached description of a struct type.
type structInfo struct {
	fields []field
	tuple  bool // the struct has a `execnet:",tuple"` marker: encode as a tuple
}

// SetOf is a Go set that Marshal encodes as a Python set and that
// Unmarshal fills from a set or frozenset.
type SetOf[T comparable] map[T]struct{}

func (SetOf[T]) execnetSet() {}

type setMarker interface{ execnetSet() }

// Marshaler is implemented by types that encode themselves as a Value.
type Marshaler interface {
	MarshalExecnet() (Value, error)
}

// Unmarshaler is implemented by types that decode themselves from a
// Value. The Value's memory may be shared with the decoder's input only
// when Decoder.ZeroCopy is set.
type Unmarshaler interface {
	UnmarshalExecnet(Value) error
}

var (
	valueType       = reflect.TypeFor[Value]()
	marshalerType   = reflect.TypeFor[Marshaler]()
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	setMarkerType   = reflect.TypeFor[setMarker]()
	bigIntType      = reflect.TypeFor[big.Int]()
	bigIntPtrType   = reflect.TypeFor[*big.Int]()
	anyType         = reflect.TypeFor[any]()
	bytesType       = reflect.TypeFor[[]byte]()
	anySliceType    = reflect.TypeFor[[]any]()
)

// typeCodec holds the compiled encoder and decoder of one Go type.
type typeCodec struct {
	typ  reflect.Type
	enc  encFn
	dec  decFn
	si   *structInfo // for struct types
	elem *typeCodec  // element (slice, array, pointer, map value)
	key  *typeCodec  // map key
	size uintptr     // typ.Size()
	// custom: a Marshaler or a codec.Value type, encoded by its own
	// rules even when it is a pointer.
	custom bool
}

// codecCache maps reflect.Type to *typeCodec. It only ever grows with the
// types a program marshals, as encoding/json's cache does.
var codecCache sync.Map

// compileMu serializes building codecs so that recursive types see their
// own, partly built, entry.
var compileMu sync.Mutex

// codecFor returns the codec of t, building it on first use.
func codecFor(t reflect.Type) *typeCodec {
	if tc, ok := codecCache.Load(t); ok {
		return tc.(*typeCodec)
	}
	compileMu.Lock()
	defer compileMu.Unlock()
	building := map[reflect.Type]*typeCodec{}
	tc := build(t, building)
	for bt, c := range building {
		codecCache.Store(bt, c)
	}
	return tc
}

func build(t reflect.Type, building map[reflect.Type]*typeCodec) *typeCodec {
	if tc, ok := codecCache.Load(t); ok {
		return tc.(*typeCodec)
	}
	if tc, ok := building[t]; ok {
		return tc // recursive type: filled in by the outer call
	}
	tc := &typeCodec{typ: t, size: t.Size()}
	building[t] = tc
	switch t.Kind() {
	case reflect.Pointer:
		if t != bigIntPtrType {
			tc.elem = build(t.Elem(), building)
		}
	case reflect.Slice, reflect.Array:
		tc.elem = build(t.Elem(), building)
	case reflect.Map:
		tc.key = build(t.Key(), building)
		tc.elem = build(t.Elem(), building)
	case reflect.Struct:
		if t != bigIntType {
			tc.si = structFields(t, building)
		}
	}
	tc.enc = encoderFor(tc)
	tc.dec = decoderFor(tc)
	return tc
}

// parseTag splits an execnet struct tag into its name and options.
func parseTag(tag string) (name string, omitEmpty, tuple bool) {
	name, opts, _ := strings.Cut(tag, ",")
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		switch o {
		case "omitempty":
			omitEmpty = true
		case "tuple":
			tuple = true
		}
	}
	return name, omitEmpty, tuple
}

// structFields lists the encoded fields of struct type t, following
// encoding/json's rules: exported fields, `execnet:"-"` skipped, fields of
// embedded structs promoted, and of several fields with one name the
// shallowest wins, then a tagged one; others of that name are dropped.
func structFields(t reflect.Type, building map[reflect.Type]*typeCodec) *structInfo {
	si := &structInfo{}
	type cand struct {
		f      field
		depth  int
		tagged bool
	}
	var cands []cand
	var walk func(t reflect.Type, index []int, offset uintptr, direct bool, depth int)
	walk = func(t reflect.Type, index []int, offset uintptr, direct bool, depth int) {
		if depth > 16 {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag, hasTag := sf.Tag.Lookup("execnet")
			if tag == "-" {
				continue
			}
			name, omit, tuple := parseTag(tag)
			if depth == 0 && name == "" && tuple && sf.Type.Kind() == reflect.Struct && sf.Type.NumField() == 0 {
				si.tuple = true // the `_ struct{} execnet:",tuple"` marker
				continue
			}
			idx := append(append([]int(nil), index...), i)
			ft := sf.Type
			if sf.Anonymous && name == "" {
				et := ft
				ptr := false
				if et.Kind() == reflect.Pointer {
					et, ptr = et.Elem(), true
				}
				if et.Kind() == reflect.Struct && et != bigIntType {
					walk(et, idx, offset+sf.Offset, direct && !ptr, depth+1)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			f := field{name: name, index: idx, offset: offset + sf.Offset, direct: direct, typ: ft, omitEmpty: omit, tuple: tuple}
			cands = append(cands, cand{f, depth, hasTag && name != ""})
		}
	}
	walk(t, nil, 0, true, 0)
	byName := map[string][]int{}
	var order []string
	for i, c := range cands {
		if _, ok := byName[c.f.name]; !ok {
			order = append(order, c.f.name)
		}
		byName[c.f.name] = append(byName[c.f.name], i)
	}
	for _, name := range order {
		idxs := byName[name]
		best := -1
		ambiguous := false
		for _, i := range idxs {
			c := cands[i]
			switch {
			case best < 0:
				best = i
			case c.depth < cands[best].depth || (c.depth == cands[best].depth && c.tagged && !cands[best].tagged):
				best, ambiguous = i, false
			case c.depth == cands[best].depth && c.tagged == cands[best].tagged:
				ambiguous = true
			}
		}
		if ambiguous {
			continue
		}
		f := cands[best].f
		f.key = appendBlob(nil, 'N', f.name)
		si.fields = append(si.fields, f)
	}
	// Fields in declaration order (promoted fields where their embedding is).
	sortFields(si.fields)
	for i := range si.fields {
		f := &si.fields[i]
		f.tc = build(f.typ, building)
		f.setKeyWords()
		if f.direct {
			f.kind = inlineKind(f.typ)
		}
		f.setPrefix()
	}
	return si
}

func sortFields(fs []field) {
	less := func(a, b []int) bool {
		for i := 0; i < len(a) && i < len(b); i++ {
			if a[i] != b[i] {
				return a[i] < b[i]
			}
		}
		return len(a) < len(b)
	}
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && less(fs[j].index, fs[j-1].index); j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// fieldPtr returns the address of f in the struct at p. For a field
// behind an embedded pointer, alloc says whether a nil pointer on the way
// is allocated (decode) or reported as nil (encode).
func (f *field) fieldPtr(p unsafe.Pointer, t reflect.Type, alloc bool) unsafe.Pointer {
	if f.direct {
		return unsafe.Add(p, f.offset)
	}
	v := reflect.NewAt(t, p).Elem()
	for i, x := range f.index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !alloc || !v.CanSet() {
					return nil
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	if !v.CanAddr() {
		return nil
	}
	return v.Addr().UnsafePointer()
}
