package difffuzz

import (
	"math/big"

	"github.com/leanovate/gopter"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// intShrinks offers simpler integers for an integer value, smallest in
// magnitude first: 0, ±1, the int32 and int64 boundaries on v's side of
// zero (where execnet's encoder changes path), and v with its last
// decimal digit dropped, each only when smaller in magnitude than v. The
// value generator's own shrinker offers only the elements of containers,
// so without these a 98-digit integer that shows DEV-1 stayed 98 digits
// long; with them it becomes -2147483649. For other values it offers
// nothing.
func intShrinks(v codec.Value) gopter.Shrink {
	var x *big.Int
	switch n := v.(type) {
	case codec.Int:
		x = big.NewInt(int64(n))
	case codec.BigInt:
		x = n.V
	default:
		return func() (interface{}, bool) { return nil, false }
	}
	abs := new(big.Int).Abs(x)
	var cands []codec.Value
	seen := map[string]bool{}
	add := func(c *big.Int) {
		if new(big.Int).Abs(c).Cmp(abs) < 0 && !seen[c.String()] {
			seen[c.String()] = true
			cands = append(cands, codec.NewBigInt(c))
		}
	}
	add(big.NewInt(0))
	one := big.NewInt(int64(x.Sign()))
	add(one)
	p31 := new(big.Int).Lsh(big.NewInt(1), 31)
	p63 := new(big.Int).Lsh(big.NewInt(1), 63)
	if x.Sign() < 0 {
		for _, b := range []*big.Int{new(big.Int).Neg(p31), new(big.Int).Neg(p63)} {
			add(b)                                  // the most negative value that fits
			add(new(big.Int).Sub(b, big.NewInt(1))) // the first that does not
		}
	} else {
		for _, b := range []*big.Int{p31, p63} {
			add(new(big.Int).Sub(b, big.NewInt(1)))
			add(b)
		}
	}
	add(new(big.Int).Quo(x, big.NewInt(10)))
	i := 0
	return func() (interface{}, bool) {
		if i >= len(cands) {
			return nil, false
		}
		i++
		return cands[i-1], true
	}
}
