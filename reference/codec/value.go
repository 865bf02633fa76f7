package codec

import (
	"math/big"
)

// Kind names the data-model type of a Value (SPEC.md section "Data model").
type Kind uint8

// The kinds of the data model.
const (
	KindNone Kind = iota
	KindBool
	KindInt
	KindFloat
	KindComplex
	KindBytes
	KindStr
	KindPy2Str
	KindTuple
	KindList
	KindDict
	KindSet
	KindFrozenSet
	KindChannel
)

var kindNames = [...]string{"none", "bool", "int", "float", "complex", "bytes",
	"str", "py2str", "tuple", "list", "dict", "set", "frozenset", "channel"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(?)"
}

// Value is one value of the data model. The concrete types are None, Bool,
// Int, BigInt, Float, Complex, Bytes, Str, Py2Str, Tuple, List, *Dict, Set,
// FrozenSet, ChannelRef, and any type that implements ChannelValue.
type Value interface {
	Kind() Kind
}

// ChannelValue is implemented by channel objects that may be sent inside
// data. The encoder writes a CHANNEL opcode with the channel's id.
type ChannelValue interface {
	Value
	ChannelID() int32
}

// None is Python's None.
type None struct{}

// Bool is a boolean.
type Bool bool

// Int is an integer that fits in 64 bits: the fast path of the integer type.
type Int int64

// BigInt is an integer outside the int64 range. Decoders and NewBigInt
// never produce a BigInt whose value fits in an Int, so that every integer
// has exactly one representation. V must not be nil or mutated once shared.
type BigInt struct{ V *big.Int }

// Float is an IEEE-754 binary64 value. Equality in this package compares
// bits, so NaN payloads and the sign of zero are significant.
type Float float64

// Complex is a pair of binary64 values.
type Complex complex128

// Bytes is an immutable byte string (Python bytes).
type Bytes []byte

// Str is Unicode text (Python 3 str). It must hold valid UTF-8 to be encoded.
type Str string

// Py2Str is a legacy Python 2 byte string, written with the PY2STRING
// opcode. Decoders produce it only when strconfig asks for bytes.
type Py2Str []byte

// Tuple is an immutable sequence.
type Tuple []Value

// List is a mutable sequence.
type List []Value

// Set is an unordered set of hashable values. Element order is the order
// of the slice; it carries no meaning. Use NewSet to remove duplicates.
type Set []Value

// FrozenSet is an immutable set; see Set.
type FrozenSet []Value

// ChannelRef is a reference to a channel by id, as decoded without a
// gateway to resolve it.
type ChannelRef int32

// Item is one key/value pair of a Dict.
type Item struct {
	Key   Value
	Value Value
}

// Dict is an insertion-ordered mapping with hashable keys. Keys compare as
// Python compares them (1, 1.0 and True are the same key). The zero Dict is
// empty and ready to use.
type Dict struct {
	items   []Item
	indexed bool           // strIdx/genIdx are valid
	strIdx  map[string]int // Str keys, by their text
	genIdx  map[string]int // every other key, by HashKey
}

func (None) Kind() Kind       { return KindNone }
func (Bool) Kind() Kind       { return KindBool }
func (Int) Kind() Kind        { return KindInt }
func (BigInt) Kind() Kind     { return KindInt }
func (Float) Kind() Kind      { return KindFloat }
func (Complex) Kind() Kind    { return KindComplex }
func (Bytes) Kind() Kind      { return KindBytes }
func (Str) Kind() Kind        { return KindStr }
func (Py2Str) Kind() Kind     { return KindPy2Str }
func (Tuple) Kind() Kind      { return KindTuple }
func (List) Kind() Kind       { return KindList }
func (*Dict) Kind() Kind      { return KindDict }
func (Set) Kind() Kind        { return KindSet }
func (FrozenSet) Kind() Kind  { return KindFrozenSet }
func (ChannelRef) Kind() Kind { return KindChannel }

// ChannelID returns the referenced channel id.
func (c ChannelRef) ChannelID() int32 { return int32(c) }

// NewBigInt returns x as an Int when it fits in 64 bits, else as a BigInt.
// x is not copied.
func NewBigInt(x *big.Int) Value {
	if x.IsInt64() {
		return Int(x.Int64())
	}
	return BigInt{V: x}
}

// linearMax is the dict size up to which lookups scan instead of hashing.
const linearMax = 16

// NewDict returns a dict holding items in order; a repeated key keeps its
// first position and takes the later value, as in Python. It fails with
// ErrUnhashable if a key is not hashable.
func NewDict(items ...Item) (*Dict, error) {
	d := &Dict{items: make([]Item, 0, len(items))}
	for _, it := range items {
		if err := d.Set(it.Key, it.Value); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Len returns the number of items.
func (d *Dict) Len() int {
	if d == nil {
		return 0
	}
	return len(d.items)
}

// Items returns the items in insertion order. The slice must not be modified.
func (d *Dict) Items() []Item {
	if d == nil {
		return nil
	}
	return d.items
}

// Get returns the value stored under key.
func (d *Dict) Get(key Value) (Value, bool) {
	i, err := d.find(key)
	if err != nil || i < 0 {
		return nil, false
	}
	return d.items[i].Value, true
}

// Set stores value under key, keeping the position of an existing key.
func (d *Dict) Set(key, value Value) error {
	i, err := d.find(key)
	if err != nil {
		return err
	}
	if i >= 0 {
		d.items[i].Value = value
		return nil
	}
	d.items = append(d.items, Item{key, value})
	if d.indexed {
		d.addIndex(key, len(d.items)-1)
	}
	return nil
}

func (d *Dict) addIndex(key Value, i int) {
	if s, ok := key.(Str); ok {
		d.strIdx[string(s)] = i
		return
	}
	if isNaNValue(key) {
		return // a NaN key never matches; keep it out of the index
	}
	k, _ := HashKey(key)
	if d.genIdx == nil {
		d.genIdx = make(map[string]int)
	}
	d.genIdx[k] = i
}

// find returns the index of key, or -1. Small dicts scan; larger ones use
// an index built on first need. Str keys, the common case, are looked up
// by their text without building a hash key.
func (d *Dict) find(key Value) (int, error) {
	if s, ok := key.(Str); ok {
		if d.indexed {
			if i, ok := d.strIdx[string(s)]; ok {
				return i, nil
			}
			return -1, nil
		}
		if len(d.items) < linearMax {
			for i := range d.items {
				if k, ok := d.items[i].Key.(Str); ok && k == s {
					return i, nil
				}
			}
			return -1, nil
		}
	} else {
		if err := checkHashable(key); err != nil {
			return -1, err
		}
		if isNaNValue(key) {
			return -1, nil
		}
		if !d.indexed && len(d.items) < linearMax {
			for i := range d.items {
				if PyEqual(d.items[i].Key, key) {
					return i, nil
				}
			}
			return -1, nil
		}
	}
	if !d.indexed {
		d.strIdx = make(map[string]int, len(d.items)*2)
		d.indexed = true
		for i := range d.items {
			d.addIndex(d.items[i].Key, i)
		}
	}
	if s, ok := key.(Str); ok {
		if i, ok := d.strIdx[string(s)]; ok {
			return i, nil
		}
		return -1, nil
	}
	k, err := HashKey(key)
	if err != nil {
		return -1, err
	}
	if i, ok := d.genIdx[k]; ok {
		return i, nil
	}
	return -1, nil
}

// NewSet returns the distinct elements of elems in first-seen order,
// comparing as Python does. It fails with ErrUnhashable.
func NewSet(elems ...Value) (Set, error) {
	out, err := dedupe(elems)
	return Set(out), err
}

// NewFrozenSet is NewSet for frozensets.
func NewFrozenSet(elems ...Value) (FrozenSet, error) {
	out, err := dedupe(elems)
	return FrozenSet(out), err
}

func dedupe(elems []Value) ([]Value, error) {
	out := make([]Value, 0, len(elems))
	var seen map[string]struct{}
	if len(elems) > linearMax {
		seen = make(map[string]struct{}, len(elems))
	}
	for _, e := range elems {
		if seen != nil {
			k, err := HashKey(e)
			if err != nil {
				return nil, err
			}
			if _, ok := seen[k]; ok {
				continue
			}
			seen[k] = struct{}{}
			out = append(out, e)
			continue
		}
		if err := checkHashable(e); err != nil {
			return nil, err
		}
		dup := false
		for _, o := range out {
			if PyEqual(o, e) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, e)
		}
	}
	return out, nil
}
