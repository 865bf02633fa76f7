package conformance

import "strings"

// defaultEnvNames are the environment variables a popen target gets by
// default (SEC-RUN-2: a runner must not pass secrets to an untrusted
// target). Names ending in "*" are prefixes.
func defaultEnvNames() []string {
	return []string{
		"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_*", "TZ",
		"TMPDIR", "TEMP", "TMP", "SYSTEMROOT", "COMSPEC", "PATHEXT",
		"PYTHON*", "PYPY*", "GOCOVERDIR",
	}
}

// TargetEnv returns the subset of environ (in os.Environ form) that a
// target process gets: the variables of a fixed, secret-free list
// (PATH, HOME, locale, temporary directories, PYTHON*, ...) plus those
// named in extra (exact names, or prefixes ending in "*").
func TargetEnv(environ, extra []string) []string {
	out := []string{}
	defaults := defaultEnvNames()
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if envNameMatch(name, defaults) || envNameMatch(name, extra) {
			out = append(out, kv)
		}
	}
	return out
}

func envNameMatch(name string, patterns []string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if name == p {
			return true
		}
	}
	return false
}
