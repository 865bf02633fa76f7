package gateway

import (
	"fmt"
	"strconv"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/xspec"
)

// SetupCallName is the call_name of the execution that applies an xspec's
// chdir=, nice= and env: keys after the bootstrap (Open does this, as
// execnet's makegateway does). Python workers run SetupSource, which
// defines a function of that name; the Go worker recognises the name and
// does the same natively.
//
// Its keyword arguments: chdir (str or None: the directory to change to,
// created first when it does not exist, one level only), nice (int: the
// increment of the niceness, 0 for none) and env (dict of str to str:
// environment variables to set).
const SetupCallName = "execnet_conform_setup"

// SetupFileName is the file_name sent with SetupSource; Python workers
// show it in tracebacks.
const SetupFileName = "<execnet-conform setup>"

// SetupSource is this project's Python implementation of SetupCallName.
//
// nice differs from execnet on purpose. execnet calls os.nice once, in
// the thread that runs its setup; on Linux niceness belongs to a thread,
// so only that thread changes and later executions, which execnet 1.9
// runs on other threads of its pool, keep niceness 0 (observed with
// CPython 3.11 and PyPy 3.9). SetupSource then sets the same niceness on
// every thread of the process (/proc/self/task), as the Go worker does,
// so that it holds for the whole worker. Where os.nice is missing
// (Windows) nice= is ignored, as in execnet.
const SetupSource = `import os


def execnet_conform_setup(channel, chdir=None, nice=0, env=None):
    if chdir:
        if not os.path.exists(chdir):
            os.mkdir(chdir)
        os.chdir(chdir)
    if nice and hasattr(os, "nice"):
        level = os.nice(nice)
        if hasattr(os, "setpriority") and os.path.isdir("/proc/self/task"):
            for task in os.listdir("/proc/self/task"):
                try:
                    os.setpriority(os.PRIO_PROCESS, int(task), level)
                except ProcessLookupError:
                    pass
    for key, val in (env or {}).items():
        os.environ[key] = val
`

// SetupExec returns the execution that applies s's chdir=, nice= and env:
// keys, and whether there is anything to apply.
func SetupExec(s *xspec.Spec) (Exec, bool, error) {
	if s.Chdir == "" && s.Nice == "" && len(s.Env) == 0 {
		return Exec{}, false, nil
	}
	nice := 0
	if s.Nice != "" {
		n, err := strconv.Atoi(s.Nice)
		if err != nil {
			return Exec{}, false, fmt.Errorf("nice=%q is not an integer", s.Nice)
		}
		nice = n
	}
	var chdir codec.Value = codec.None{}
	if s.Chdir != "" {
		chdir = codec.Str(s.Chdir)
	}
	env := &codec.Dict{}
	for _, k := range s.EnvKeys {
		if err := env.Set(codec.Str(k), codec.Str(s.Env[k])); err != nil {
			return Exec{}, false, err
		}
	}
	kw, err := codec.NewDict(
		codec.Item{Key: codec.Str("chdir"), Value: chdir},
		codec.Item{Key: codec.Str("nice"), Value: codec.Int(nice)},
		codec.Item{Key: codec.Str("env"), Value: env},
	)
	if err != nil {
		return Exec{}, false, err
	}
	return Exec{Source: SetupSource, FileName: SetupFileName, CallName: SetupCallName, Kwargs: kw}, true, nil
}
