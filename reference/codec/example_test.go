package codec_test

import (
	"errors"
	"fmt"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

func ExampleDumps() {
	v := codec.List{codec.Int(1), codec.Str("a")}
	b, err := codec.Dumps(v)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%x\n", b)
	back, err := codec.Loads(b)
	if err != nil {
		panic(err)
	}
	fmt.Println(codec.Repr(back))
	// Output:
	// 4b00000002460000000046000000015046000000014e00000001615051
	// [1, 'a']
}

func ExampleParseLiteral() {
	v, err := codec.ParseLiteral(`{(1, 2): [b'x', 1.5j], 'k': frozenset({None})}`)
	if err != nil {
		panic(err)
	}
	fmt.Println(codec.Repr(v))
	_, err = codec.ParseLiteral("[1, 2")
	fmt.Println(errors.Is(err, codec.ErrLiteralSyntax), err)
	// Output:
	// {(1, 2): [b'x', 1.5j], 'k': frozenset({None})}
	// true codec: literal syntax error at offset 5: expected ',' or ']', found end of input
}

func ExampleDecoder() {
	d := codec.Decoder{
		Limits:    codec.Limits{MaxDepth: 2},
		StrConfig: codec.PublicStrConfig,
	}
	// [[[]]] nests three lists deep.
	wire := []byte("K\x00\x00\x00\x01F\x00\x00\x00\x00K\x00\x00\x00\x01F\x00\x00\x00\x00K\x00\x00\x00\x00PPQ")
	_, _, err := d.Loads(wire)
	fmt.Println(errors.Is(err, codec.ErrLimit))
	var de *codec.DecodeError
	if errors.As(err, &de) {
		fmt.Println(de.Op, de.Offset)
	}
	// Output:
	// true
	// SETITEM 26
}
