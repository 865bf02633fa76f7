package codec

import (
	"fmt"
	"math"
	"unsafe"
)

// The floor of Loads.
//
// FloorPlan measures what building a decoded value costs in this value
// model when nothing has to be parsed: it replays a value, split into
// operands ahead of time, into the same slab allocations Loads makes after
// its presize walk (one pointer-free block for boxed numbers and copied
// text, one slab each for Str and Bytes headers, list, tuple and dict
// headers, and one for elements and dict items), copies every string,
// boxes every scalar and hashes every Str dict key. It does no opcode
// dispatch on input bytes, no bounds or limit checks and no duplicate-key
// search, so Loads cannot be faster than FloorPlan.Build on the same
// value. BenchmarkLoadsFloor (floor_bench_test.go) reports it beside Loads;
// bench/README.md quotes it.
//
// It is exported only to this package's tests.

// floorStep is one operand or container of a FloorPlan, containers
// before their elements, so that every value is built straight into its
// final slot.
type floorStep struct {
	kind Kind
	data []byte // Str and Bytes text
	word uint64 // Int value or Float bits; Bool as 0 or 1
	n    int    // element count of a list or tuple, item count of a dict
}

// FloorPlan is a value split into operands; see the comment above.
type FloorPlan struct {
	steps []floorStep

	words, data                                 int // uint64 slots, bytes
	strs, bytesVals, lists, tuples, dicts, vals int
}

// NewFloorPlan splits v into a plan. It supports the kinds the benchmark
// values use: none, bool, int, float, str, bytes, list, tuple and dicts
// with Str keys.
func NewFloorPlan(v Value) (*FloorPlan, error) {
	p := &FloorPlan{}
	if err := p.add(v); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *FloorPlan) add(v Value) error {
	switch x := v.(type) {
	case None, Bool:
		st := floorStep{kind: v.Kind()}
		if x == Bool(true) {
			st.word = 1
		}
		p.steps = append(p.steps, st)
	case Int:
		if uint64(x) >= 256 {
			p.words++
		}
		p.steps = append(p.steps, floorStep{kind: KindInt, word: uint64(x)})
	case Float:
		p.words++
		p.steps = append(p.steps, floorStep{kind: KindFloat, word: math.Float64bits(float64(x))})
	case Str:
		p.strs++
		p.data += len(x)
		p.steps = append(p.steps, floorStep{kind: KindStr, data: []byte(x)})
	case Bytes:
		p.bytesVals++
		p.data += len(x)
		p.steps = append(p.steps, floorStep{kind: KindBytes, data: x})
	case List:
		return p.addSeq(KindList, x)
	case Tuple:
		return p.addSeq(KindTuple, x)
	case *Dict:
		p.dicts++
		p.vals += 2 * x.Len()
		p.steps = append(p.steps, floorStep{kind: KindDict, n: x.Len()})
		for _, it := range x.Items() {
			if _, ok := it.Key.(Str); !ok {
				return fmt.Errorf("floor plan: dict key of kind %s", it.Key.Kind())
			}
			if err := p.add(it.Key); err != nil {
				return err
			}
			if err := p.add(it.Value); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("floor plan: kind %s", v.Kind())
	}
	return nil
}

func (p *FloorPlan) addSeq(k Kind, elems []Value) error {
	if k == KindList {
		p.lists++
	} else {
		p.tuples++
	}
	p.vals += len(elems)
	p.steps = append(p.steps, floorStep{kind: k, n: len(elems)})
	for _, e := range elems {
		if err := p.add(e); err != nil {
			return err
		}
	}
	return nil
}

// floorSlab hands out the slots of one exactly sized allocation.
type floorSlab[T any] []T

func newFloorSlab[T any](n int) floorSlab[T] {
	if n == 0 {
		return nil
	}
	return make([]T, 0, n)
}

func (s *floorSlab[T]) put(x T) *T {
	*s = append(*s, x)
	return &(*s)[len(*s)-1]
}

// floorBuild is the state of one Build: the slabs and the next step.
type floorBuild struct {
	steps     []floorStep
	next      int
	words     []uint64
	data      []byte
	strs      floorSlab[Str]
	bytesVals floorSlab[Bytes]
	lists     floorSlab[List]
	tuples    floorSlab[Tuple]
	dicts     floorSlab[Dict]
	vals      []Value
	hashes    uint64
}

// Build replays the plan into freshly allocated slabs and returns the
// value, with the sum of the Str key hashes so that the hashing cannot be
// optimized away. Every value is stored once, into its final slot.
func (p *FloorPlan) Build() (Value, uint64) {
	raw := make([]uint64, p.words+(p.data+7)/8)
	fb := floorBuild{
		steps:     p.steps,
		words:     raw[:0:p.words],
		strs:      newFloorSlab[Str](p.strs),
		bytesVals: newFloorSlab[Bytes](p.bytesVals),
		lists:     newFloorSlab[List](p.lists),
		tuples:    newFloorSlab[Tuple](p.tuples),
		dicts:     newFloorSlab[Dict](p.dicts),
		vals:      make([]Value, p.vals),
	}
	if p.data > 0 {
		fb.data = unsafe.Slice((*byte)(unsafe.Pointer(&raw[p.words])), p.data)[:0]
	}
	var v Value
	fb.build(&v)
	return v, fb.hashes
}

// build stores the value of the next step, and of its elements, in *dst.
func (fb *floorBuild) build(dst *Value) {
	st := &fb.steps[fb.next]
	fb.next++
	switch st.kind {
	case KindNone:
		*dst = None{}
	case KindBool:
		*dst = Bool(st.word == 1)
	case KindInt:
		if st.word < 256 {
			*dst = Int(st.word)
			return
		}
		fb.words = append(fb.words, st.word)
		*dst = boxAt(itabInt, unsafe.Pointer(&fb.words[len(fb.words)-1]))
	case KindFloat:
		fb.words = append(fb.words, st.word)
		*dst = boxAt(itabFloat, unsafe.Pointer(&fb.words[len(fb.words)-1]))
	case KindStr, KindBytes:
		start := len(fb.data)
		fb.data = append(fb.data, st.data...)
		c := fb.data[start:len(fb.data):len(fb.data)]
		if st.kind == KindStr {
			*dst = boxAt(itabStr, unsafe.Pointer(fb.strs.put(Str(unsafe.String(unsafe.SliceData(c), len(c))))))
		} else {
			*dst = boxAt(itabBytes, unsafe.Pointer(fb.bytesVals.put(Bytes(c))))
		}
	case KindList, KindTuple:
		elems := fb.vals[:st.n:st.n]
		fb.vals = fb.vals[st.n:]
		for j := range elems {
			fb.build(&elems[j])
		}
		if st.kind == KindList {
			*dst = boxAt(itabList, unsafe.Pointer(fb.lists.put(List(elems))))
		} else {
			*dst = boxAt(itabTuple, unsafe.Pointer(fb.tuples.put(Tuple(elems))))
		}
	case KindDict:
		items := unsafe.Slice((*Item)(unsafe.Pointer(unsafe.SliceData(fb.vals))), st.n)
		fb.vals = fb.vals[2*st.n:]
		for j := range items {
			fb.build(&items[j].Key)
			fb.hashes += strHash(string(items[j].Key.(Str)))
			fb.build(&items[j].Value)
		}
		*dst = fb.dicts.put(Dict{items: items})
	}
}
