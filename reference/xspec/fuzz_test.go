package xspec

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that a parsed spec keeps its
// text, that its items rebuild that text, and that Validate and
// PythonArgs never panic either.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"popen", "popen//python=python3 -u", "socket=h:1//id=x", "//", "=", "a=b=c//env:X=1",
		"popen//python='x", "ssh=-p 22 h//ssh_config=c", "_", "popen//_id", "\x00//\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			return
		}
		if sp.String() != s {
			t.Fatalf("String() = %q, want %q", sp.String(), s)
		}
		var items []string
		for _, kv := range sp.Keys {
			item := kv.Key
			if kv.HasValue {
				item += "=" + kv.Value
			}
			if !strings.HasPrefix(s[kv.Pos:], item) {
				t.Fatalf("item %+v not at its position in %q", kv, s)
			}
			items = append(items, item)
		}
		if strings.Join(items, "//") != s {
			t.Fatalf("items %q do not rebuild %q", items, s)
		}
		_ = sp.Validate()
		_, _ = sp.PythonArgs()
	})
}

// FuzzShellSplit checks that ShellSplit never panics and that joining its
// words, each quoted, splits back to the same words.
func FuzzShellSplit(f *testing.F) {
	for _, s := range []string{"a b", `"a\"b" 'c d'`, `x\`, `"open`, "", `a\ b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := ShellSplit(s)
		if err != nil {
			return
		}
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
		}
		again, err := ShellSplit(strings.Join(quoted, " "))
		if err != nil || !reflect.DeepEqual(again, words) && len(words) > 0 {
			t.Fatalf("%q: words %q, requoted %q, %v", s, words, again, err)
		}
	})
}
