package worker

import (
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

func TestAsPython3(t *testing.T) {
	d, _ := codec.NewDict(
		codec.Item{Key: codec.Py2Str("k"), Value: codec.List{codec.Py2Str("v"), codec.Int(1)}},
		codec.Item{Key: codec.Str("s"), Value: codec.Set{codec.Py2Str("a"), codec.Bytes("a")}},
	)
	got, err := asPython3(codec.Tuple{d, codec.FrozenSet{codec.Py2Str("z")}})
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := codec.NewDict(
		codec.Item{Key: codec.Bytes("k"), Value: codec.List{codec.Bytes("v"), codec.Int(1)}},
		codec.Item{Key: codec.Str("s"), Value: codec.Set{codec.Bytes("a")}},
	)
	want := codec.Tuple{wd, codec.FrozenSet{codec.Bytes("z")}}
	if !codec.Identical(got, want) {
		t.Fatalf("asPython3 = %s, want %s", codec.Repr(got), codec.Repr(want))
	}
	plain := codec.List{codec.Str("x")}
	if got, _ := asPython3(plain); &got.(codec.List)[0] != &plain[0] {
		t.Fatal("a value without Py2Str was copied")
	}
}

func TestErrorClass(t *testing.T) {
	for _, c := range errorClasses {
		if got := errorClass(&codec.DecodeError{Err: c.err}); got != c.name {
			t.Errorf("errorClass(%v) = %s, want %s", c.err, got, c.name)
		}
	}
	if got := errorClass(codec.ErrUnsupported); got != "Unknown" {
		t.Errorf("errorClass(ErrUnsupported) = %s", got)
	}
}
