package difffuzz

import (
	"bytes"
	"encoding/binary"
	"math/rand"

	"github.com/execnet-conform/execnet-conform/spec"
)

// maxInput bounds a fuzz input; longer mutants are cut.
const maxInput = 4096

// maxListSlots bounds the NEWLIST count of an input sent to a target:
// Python execnet allocates the whole list before reading any element
// (DEV-13), so a mutated count near 2^31 would make it allocate gigabytes.
// Inputs over the bound are answered by the reference alone.
const maxListSlots = 1 << 16

// interesting are int32 operand values that sit on boundaries.
var interesting = []int32{0, 1, 2, 3, -1, -2, 4, 7, 8, 16, 127, 128, 255, 256, 1000, 4300, 4301, 65535,
	1 << 16, 1<<31 - 1, -1 << 31, 0x7ffffffe}

// mutate returns a mutant of b, using the other seeds for splicing.
func mutate(r *rand.Rand, b []byte, seeds [][]byte) []byte {
	out := bytes.Clone(b)
	for n := 1 + r.Intn(3); n > 0; n-- {
		out = mutateOnce(r, out, seeds)
	}
	if len(out) > maxInput {
		out = out[:maxInput]
	}
	return out
}

func mutateOnce(r *rand.Rand, b []byte, seeds [][]byte) []byte {
	if len(b) == 0 {
		return append(b, byte(spec.OpBuildTuple+spec.Opcode(r.Intn(21))))
	}
	switch r.Intn(10) {
	case 0: // flip a bit
		i := r.Intn(len(b))
		b[i] ^= 1 << r.Intn(8)
	case 1: // replace a byte by an opcode
		b[r.Intn(len(b))] = byte(spec.OpBuildTuple + spec.Opcode(r.Intn(21)))
	case 2: // replace a byte at random
		b[r.Intn(len(b))] = byte(r.Intn(256))
	case 3: // overwrite an int32 operand with a boundary value
		if len(b) >= 5 {
			i := r.Intn(len(b) - 3)
			binary.BigEndian.PutUint32(b[i:], uint32(interesting[r.Intn(len(interesting))]))
		}
	case 4: // delete a range
		i := r.Intn(len(b))
		j := i + 1 + r.Intn(min(8, len(b)-i))
		b = append(b[:i], b[j:]...)
	case 5: // duplicate a range
		i := r.Intn(len(b))
		j := i + 1 + r.Intn(min(16, len(b)-i))
		chunk := bytes.Clone(b[i:j])
		k := r.Intn(len(b) + 1)
		b = append(b[:k], append(chunk, b[k:]...)...)
	case 6: // insert an opcode with a small operand
		op := spec.OpBuildTuple + spec.Opcode(r.Intn(21))
		ins := []byte{byte(op)}
		if r.Intn(2) == 0 {
			ins = binary.BigEndian.AppendUint32(ins, uint32(interesting[r.Intn(len(interesting))]))
		}
		k := r.Intn(len(b) + 1)
		b = append(b[:k], append(ins, b[k:]...)...)
	case 7: // splice with another seed
		if len(seeds) > 0 {
			o := seeds[r.Intn(len(seeds))]
			i := r.Intn(len(b) + 1)
			j := r.Intn(len(o) + 1)
			b = append(b[:i:i], o[j:]...)
		}
	case 8: // truncate
		b = b[:r.Intn(len(b))]
	case 9: // drop the STOP or add one
		if b[len(b)-1] == byte(spec.OpStop) {
			b = b[:len(b)-1]
		} else {
			b = append(b, byte(spec.OpStop))
		}
	}
	return b
}

// tooManySlots reports whether b holds, anywhere, a NEWLIST byte followed
// by a count over maxListSlots (conservatively: at any offset, not only
// at opcode positions).
func tooManySlots(b []byte) bool {
	for i := 0; i+5 <= len(b); i++ {
		if b[i] == byte(spec.OpNewList) && int32(binary.BigEndian.Uint32(b[i+1:])) > maxListSlots {
			return true
		}
	}
	return false
}

// minimize shrinks b while still(b) holds, by deleting chunks of halving
// size (delta debugging, down to single bytes), then by lowering int32
// operands (lengths and counts) to small values, and deleting chunks
// again if that helped. It calls still at most budget times.
func minimize(b []byte, budget int, still func([]byte) bool) []byte {
	cur := deleteChunks(b, &budget, still)
	lowered := false
	for i := 0; i+4 <= len(cur) && budget > 0; i++ {
		v := int32(binary.BigEndian.Uint32(cur[i:]))
		if v <= 1 && v >= -1 {
			continue
		}
		try := func(w int32) bool {
			cand := bytes.Clone(cur)
			binary.BigEndian.PutUint32(cand[i:], uint32(w))
			budget--
			if still(cand) {
				cur, lowered = cand, true
				return true
			}
			return false
		}
		if try(0) || budget <= 0 || try(1) || budget <= 0 || try(2) {
			continue
		}
		for w := v / 2; w != 0 && budget > 0 && try(w); w /= 2 {
		}
	}
	if lowered {
		cur = deleteChunks(cur, &budget, still)
	}
	return cur
}

// deleteChunks is the delta-debugging pass of minimize.
func deleteChunks(b []byte, budgetp *int, still func([]byte) bool) []byte {
	budget := *budgetp
	defer func() { *budgetp = budget }()
	cur := bytes.Clone(b)
	for chunk := len(cur) / 2; chunk >= 1 && budget > 0; {
		removed := false
		for i := 0; i+chunk <= len(cur) && budget > 0; {
			cand := append(bytes.Clone(cur[:i]), cur[i+chunk:]...)
			budget--
			if still(cand) {
				cur = cand
				removed = true
				continue
			}
			i += chunk
		}
		if !removed {
			chunk /= 2
		}
	}
	return cur
}
