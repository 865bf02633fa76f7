// Package codec implements execnet's serialization format: the byte-exact
// encoding that Python execnet uses for every message payload
// (dumps_internal/loads_internal) and for its public dumps/loads, together
// with Python literal notation for the same values (ParseLiteral, Repr).
//
// Encode, decode and read values:
//
//	b, err := codec.Dumps(codec.List{codec.Int(1), codec.Str("a")}) // a frame payload
//	v, err := codec.Loads(b)                         // codec.List{1, "a"}
//	fmt.Println(codec.Repr(v))                       // [1, 'a']
//	v, err = codec.ParseLiteral("{'k': (1, 2.5)}")   // Python literal syntax
//	x, ok := v.(*codec.Dict).Get(codec.Str("k"))     // codec.Tuple{1, 2.5}
//	pub, err := codec.DumpsVersioned(v, 1)           // execnet 1.9's dumps(v)
//	v, version, err := codec.LoadsVersioned(pub)     // and its loads
//
// A Decoder or Encoder sets limits and the string configuration; errors
// match the package's Err variables with errors.Is (ErrTruncated,
// ErrLimit, ...). The rest of this comment describes the values and the
// format.
//
// # Values
//
// A Value is one of None, Bool, Int, BigInt, Float, Complex, Bytes, Str,
// Py2Str, Tuple, List, *Dict, Set, FrozenSet and ChannelValue (ChannelRef
// or a live channel). Dict keys and set elements must be hashable: not a
// List, *Dict or Set, and not a Tuple holding one. Keys compare as in
// Python, so 1, 1.0 and True are one key.
//
// # Format
//
// An encoded value is a program for a stack machine: a sequence of
// one-byte opcodes, some followed by an operand, ending with STOP ('Q').
// Integers in operands are big-endian signed 32-bit; floats are big-endian
// IEEE-754 binary64. The public (versioned) form prefixes one format byte:
// 1 for execnet before 2.0, 2 for execnet 2.x; the wire form has none.
//
//	None        'L'                    True/False   'R' / 'C'
//	int         'F' int32 when -2^31 <= i < 2^31, else 'H' int32 len + ASCII decimal
//	float       'D' binary64           complex      'T' real, imag
//	bytes       'A' int32 len + bytes  str          'N' int32 len + UTF-8
//	Py2Str      'M' int32 len + bytes  channel      'B' int32 id
//	tuple       each element, then '@' int32 n
//	list        'K' int32 n, then per index i: 'F' i, element, 'P'
//	dict        'J', then per item in order: key, value, 'P'
//	set         each element, then 'O' int32 n (frozenset: 'E')
//
// The decoder also accepts the legacy opcodes 'G' (int32), 'I' (decimal),
// 'S' (UTF-8 text) and, per StrConfig, reads 'M' as latin-1 text and 'N'
// as bytes. Bytes after STOP are not read.
//
// # Strictness and limits
//
// Where execnet is lenient the decoder is strict, and says why in a
// *DecodeError that matches one of the package's sentinel errors: a
// LONGINT must match -?[0-9]+; counts and lengths must not be negative;
// BUILDTUPLE, SET and FROZENSET must not take more items than the stack
// holds; SETITEM needs a dict, or a list with an INT index in range, under
// its key and value; STOP needs exactly one item on the stack. Limits
// bound nesting depth, value count, integer digits and string length, and
// no length operand allocates more than the remaining input can back: all
// NEWLIST counts of one decode together may not exceed the input length.
//
// The encoder writes exactly what execnet writes for the same value,
// except that ints below -2^31, which execnet cannot encode, are written as
// LONGINT. Set elements are written in slice order.
package codec
