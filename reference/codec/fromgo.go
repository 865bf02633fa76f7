package codec

import (
	"fmt"
	"reflect"
)

// FromGo converts a Go value to a Value by Marshal's rules: nil to None,
// maps to *Dict, slices to List, structs to *Dict, and so on. A Value
// passed in comes back unchanged; a channel inside comes back as a
// ChannelRef with its id.
func FromGo(v any) (Value, error) {
	if val, ok := v.(Value); ok {
		if _, custom := v.(Marshaler); !custom {
			return val, nil
		}
	}
	b, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	d := Decoder{StrConfig: PublicStrConfig, ZeroCopy: true}
	out, _, err := d.Loads(b)
	return out, err
}

// UnmarshalValue stores v into the Go value that target points to, by
// Unmarshal's rules: what Unmarshal(Dumps(v), target) would store, without
// the bytes in between.
func UnmarshalValue(v Value, target any) error {
	var d Decoder
	return d.UnmarshalValue(v, target)
}

// UnmarshalValue is the package-level UnmarshalValue; of d's settings
// only DisallowUnknownKeys applies.
func (dc *Decoder) UnmarshalValue(v Value, target any) error {
	rv := reflect.ValueOf(target)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &UnmarshalTypeError{Err: ErrType, Detail: fmt.Sprintf("UnmarshalValue needs a non-nil pointer, got %T", target)}
	}
	if v == nil {
		v = None{}
	}
	a := assigner{strict: dc.DisallowUnknownKeys}
	return a.assign(v, rv.Elem(), nil)
}
