package mutation

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
)

// Sample returns n of the mutants chosen by seed (all when n is 0 or
// larger than the list), in the order they should run. A mutant's
// place depends only on its id and the seed, so adding mutants
// elsewhere changes the sample little.
func Sample(ms []Mutant, seed int64, n int) []Mutant {
	type keyed struct {
		k uint64
		m Mutant
	}
	ks := make([]keyed, len(ms))
	for i, m := range ms {
		// A cryptographic hash: FNV of ids that differ only in their
		// last characters sorts them next to each other.
		h := sha256.Sum256(fmt.Appendf(nil, "%d\x00%s", seed, m.ID))
		ks[i] = keyed{binary.BigEndian.Uint64(h[:8]), m}
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].k < ks[j].k })
	if n <= 0 || n > len(ks) {
		n = len(ks)
	}
	out := make([]Mutant, n)
	for i := range out {
		out[i] = ks[i].m
	}
	return out
}
