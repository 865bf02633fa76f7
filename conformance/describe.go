package conformance

import (
	"fmt"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// Describe renders v as a Python literal of at most about limit bytes (at
// least 16), for failure messages. Its cost is bounded by what it shows,
// not by v's size: long strings and bytes and large containers are cut
// before rendering, and the cut is marked with the full size, so that
// describing a 60 MiB value costs kilobytes (SEC-RUN-1).
func Describe(v codec.Value, limit int) string {
	if v == nil {
		return "<nothing>"
	}
	limit = max(limit, 16)
	s := &shrinker{items: limit/2 + 1, chars: limit}
	sv := s.shrink(v, 0)
	out := codec.Repr(sv)
	if len(out) > limit {
		cut := limit
		for cut > 0 && !utf8Start(out[cut]) {
			cut--
		}
		out = out[:cut] + "..."
	}
	if s.cut {
		out += fmt.Sprintf(" (%s cut short for display%s)", v.Kind(), sizeNote(v))
	}
	return out
}

func sizeNote(v codec.Value) string {
	switch x := v.(type) {
	case codec.Str:
		return fmt.Sprintf(", %d bytes", len(x))
	case codec.Bytes:
		return fmt.Sprintf(", %d bytes", len(x))
	case codec.Py2Str:
		return fmt.Sprintf(", %d bytes", len(x))
	case codec.Tuple:
		return fmt.Sprintf(", %d items", len(x))
	case codec.List:
		return fmt.Sprintf(", %d items", len(x))
	case codec.Set:
		return fmt.Sprintf(", %d items", len(x))
	case codec.FrozenSet:
		return fmt.Sprintf(", %d items", len(x))
	case *codec.Dict:
		return fmt.Sprintf(", %d items", x.Len())
	}
	return ""
}

// shrinker cuts a value down to a budget of container items and string
// bytes in all, and a nesting depth.
type shrinker struct {
	items, chars int
	cut          bool
}

const describeDepth = 16

func (s *shrinker) text(n int) int {
	k := min(n, s.chars)
	s.chars -= k
	if k < n {
		s.cut = true
	}
	return k
}

func (s *shrinker) seq(xs []codec.Value, depth int) []codec.Value {
	k := min(len(xs), s.items)
	s.items -= k
	if k < len(xs) || (depth >= describeDepth && len(xs) > 0) {
		s.cut = true
	}
	if depth >= describeDepth {
		return nil
	}
	out := make([]codec.Value, k)
	for i := range k {
		out[i] = s.shrink(xs[i], depth+1)
	}
	return out
}

func (s *shrinker) shrink(v codec.Value, depth int) codec.Value {
	switch x := v.(type) {
	case codec.Str:
		k := s.text(len(x))
		for k > 0 && k < len(x) && !utf8Start(x[k]) {
			k--
		}
		return x[:k]
	case codec.Bytes:
		return x[:s.text(len(x))]
	case codec.Py2Str:
		return x[:s.text(len(x))]
	case codec.Tuple:
		return codec.Tuple(s.seq(x, depth))
	case codec.List:
		return codec.List(s.seq(x, depth))
	case codec.Set:
		return codec.Set(s.seq(x, depth))
	case codec.FrozenSet:
		return codec.FrozenSet(s.seq(x, depth))
	case *codec.Dict:
		items := x.Items()
		k := min(len(items), s.items)
		s.items -= k
		if k < len(items) || depth >= describeDepth && len(items) > 0 {
			s.cut = true
		}
		if depth >= describeDepth {
			k = 0
		}
		out := make([]codec.Item, 0, k)
		for _, it := range items[:k] {
			out = append(out, codec.Item{Key: s.shrink(it.Key, depth+1), Value: s.shrink(it.Value, depth+1)})
		}
		d, err := codec.NewDict(out...)
		if err != nil {
			// Keys cut to the same prefix collide: show no items.
			s.cut = true
			return &codec.Dict{}
		}
		return d
	}
	return v
}
