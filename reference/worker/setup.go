package worker

// The native version of gateway.SetupCallName: the xspec keys chdir=,
// nice= and env: that a master applies after the bootstrap.

import (
	"os"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

// runSetup applies the keyword arguments of gateway.SetupCallName to this
// process: chdir (created first when missing, one level, as execnet
// does), env, then nice. Errors read like the Python ones, so that a
// master reports them the same way for both kinds of worker.
func runSetup(kw *codec.Dict) error {
	if kw == nil {
		kw = &codec.Dict{}
	}
	for _, it := range kw.Items() {
		switch it.Key {
		case codec.Str("chdir"), codec.Str("nice"), codec.Str("env"):
		default:
			return execErrorf("TypeError: %s() got an unexpected keyword argument %s", gateway.SetupCallName, codec.Repr(it.Key))
		}
	}
	switch dir := kwarg(kw, "chdir").(type) {
	case nil, codec.None:
	case codec.Str:
		if dir != "" {
			if _, err := os.Stat(string(dir)); os.IsNotExist(err) {
				if err := os.Mkdir(string(dir), 0o777); err != nil {
					return execErrorf("OSError: %v", err)
				}
			}
			if err := os.Chdir(string(dir)); err != nil {
				return execErrorf("OSError: %v", err)
			}
		}
	default:
		return execErrorf("TypeError: chdir must be str or None, not %s", kindOf(dir))
	}
	switch env := kwarg(kw, "env").(type) {
	case nil, codec.None:
	case *codec.Dict:
		for _, it := range env.Items() {
			k, ok1 := it.Key.(codec.Str)
			v, ok2 := it.Value.(codec.Str)
			if !ok1 || !ok2 {
				return execErrorf("TypeError: env must map str to str, got %s: %s", kindOf(it.Key), kindOf(it.Value))
			}
			if err := os.Setenv(string(k), string(v)); err != nil {
				return execErrorf("ValueError: env %q: %v", string(k), err)
			}
		}
	default:
		return execErrorf("TypeError: env must be a dict, not %s", kindOf(env))
	}
	switch n := kwarg(kw, "nice").(type) {
	case nil:
	case codec.Int:
		if n != 0 {
			if err := addNice(int(n)); err != nil {
				return execErrorf("OSError: nice(%d): %v", int(n), err)
			}
		}
	default:
		return execErrorf("TypeError: nice must be an int, not %s", kindOf(n))
	}
	return nil
}

// clampNice keeps a niceness in the range the kernel accepts, as nice(2)
// does for an increment that goes past it.
func clampNice(n int) int {
	return max(-20, min(19, n))
}
