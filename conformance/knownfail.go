package conformance

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	execnetconform "github.com/execnet-conform/execnet-conform"
)

// KnownFailure is one entry of a known-failing list: a case that the
// target is known to fail because of a documented deviation.
//
// The file format is one entry per line, fields separated by white space:
//
//	case-id  DEV-N  [may-pass]  [/regexp/]  reason text
//	case-id  PORT:  [may-pass]  [/regexp/]  reason text
//
// DEV-N names a deviation of Python execnet in SPEC.md Appendix B. PORT:
// marks a deviation of the implementation under test itself (a port's own
// known bug or missing feature), described by the free text that follows;
// reports count such entries apart from execnet's deviations.
//
// The case id may use path.Match globs in its segments
// ("vectors/reject/integer/*"); it then needs as many segments as the ids
// it matches, and an exact entry for a case takes precedence over a glob.
// Blank lines and lines starting with # are ignored. The optional /regexp/
// (Go syntax; "\/" stands for a slash) must match the failure message:
// a case that fails with a different message is an unexpected failure. Without a
// regexp, any plain failure (not a timeout or crash) matches. A listed case
// that passes is an unexpected pass (xpass), and an entry naming a case
// that does not exist (or a glob matching none) is stale: both fail the
// run. The word may-pass after the deviation id marks a deviation that
// shows in some runs only (on PyPy, execnet's recursive encoder fails on
// 1001 nested lists in some runs and not in others): such a case may fail
// as listed (xfail) or pass (pass, not xpass).
type KnownFailure struct {
	CaseID    string         // a case id, or a pattern with path.Match globs per segment
	Deviation string         // DEV-N, an id of SPEC.md Appendix B, or PortDeviation
	Match     *regexp.Regexp // nil: any plain failure
	MayPass   bool           // the deviation shows only sometimes: a pass is not an xpass
	Reason    string
	File      string
	Line      int
}

// PortDeviation is the Deviation of a "PORT:" entry: a known deviation of
// the implementation under test, not one of execnet's.
const PortDeviation = "PORT"

// IsPort reports whether the entry records a port's own deviation
// ("PORT:") rather than one of execnet's (DEV-N).
func (k KnownFailure) IsPort() bool { return k.Deviation == PortDeviation }

// String returns the entry in the file format.
func (k KnownFailure) String() string {
	dev := k.Deviation
	if k.IsPort() {
		dev += ":"
	}
	s := k.CaseID + "  " + dev
	if k.MayPass {
		s += "  " + mayPassWord
	}
	if k.Match != nil {
		s += "  /" + k.Match.String() + "/"
	}
	return s + "  " + k.Reason
}

// matches reports whether a failing case result is the listed failure.
func (k KnownFailure) matches(o Outcome, msg string) bool {
	if k.Match == nil {
		return o == Fail
	}
	return k.Match.MatchString(msg)
}

// mayPassWord marks an entry whose case may also pass (KnownFailure.MayPass).
const mayPassWord = "may-pass"

var (
	devRE   = regexp.MustCompile(`^DEV-[1-9][0-9]*$`)
	entryRE = regexp.MustCompile(`^(\S+)\s+(\S+)\s*(.*)$`)
)

// ParseKnownFailing parses a known-failing list. name is used in error
// messages. Each deviation id must be one of validDevs when validDevs is
// non-nil. Errors are *KnownFailingError.
func ParseKnownFailing(r io.Reader, name string, validDevs []string) ([]KnownFailure, error) {
	valid := map[string]bool{}
	for _, d := range validDevs {
		valid[d] = true
	}
	var out []KnownFailure
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(format string, args ...any) error {
			return &KnownFailingError{File: name, Line: n, Msg: fmt.Sprintf(format, args...)}
		}
		m := entryRE.FindStringSubmatch(line)
		if m == nil {
			return nil, bad("entry %q has no deviation id (want: case-id DEV-N [/regexp/] reason, or case-id PORT: reason)", line)
		}
		id, dev, rest := m[1], m[2], m[3]
		if after, ok := strings.CutPrefix(dev, PortDeviation+":"); ok {
			// "PORT:reason" written without a space is read as "PORT: reason".
			dev, rest = PortDeviation, strings.TrimSpace(after+" "+rest)
		} else if !devRE.MatchString(dev) {
			return nil, bad("%q is not a deviation id (want DEV-N, or PORT: for the port's own deviations)", dev)
		}
		if validDevs != nil && dev != PortDeviation && !valid[dev] {
			return nil, bad("deviation %s is not listed in SPEC.md Appendix B", dev)
		}
		for seg := range strings.SplitSeq(id, "/") {
			if _, err := path.Match(seg, ""); err != nil {
				return nil, bad("bad case pattern %q: %v", id, err)
			}
		}
		k := KnownFailure{CaseID: id, Deviation: dev, File: name, Line: n}
		if f := strings.Fields(rest); len(f) > 0 && f[0] == mayPassWord {
			k.MayPass = true // rest starts with its first field
			rest = strings.TrimSpace(rest[len(mayPassWord):])
		}
		if strings.HasPrefix(rest, "/") {
			end := closingSlash(rest)
			if end < 0 {
				return nil, bad("unterminated /regexp/ in %q", rest)
			}
			re, err := regexp.Compile(strings.ReplaceAll(rest[1:end], `\/`, "/"))
			if err != nil {
				return nil, bad("bad regexp: %v", err)
			}
			k.Match = re
			rest = strings.TrimSpace(rest[end+1:])
		}
		if rest == "" {
			return nil, bad("entry %s has no reason text", id)
		}
		k.Reason = rest
		if prev, ok := seen[id]; ok {
			return nil, bad("case %s is already listed on line %d", id, prev)
		}
		seen[id] = n
		out = append(out, k)
	}
	if err := sc.Err(); err != nil {
		return nil, &KnownFailingError{File: name, Line: n, Msg: err.Error()}
	}
	return out, nil
}

// closingSlash returns the index of the slash ending a /regexp/ that
// starts at s[0], skipping "\/", or -1.
func closingSlash(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '/':
			return i
		}
	}
	return -1
}

// LoadKnownFailing reads and parses a known-failing file, checking its
// deviation ids against SPEC.md Appendix B when the spec registry is
// available.
func LoadKnownFailing(path string) ([]KnownFailure, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKnownFailing, err)
	}
	defer f.Close()
	devs, err := deviationIDs()
	if err != nil {
		devs = nil
	}
	return ParseKnownFailing(f, path, devs)
}

// KnownFailingNames returns the names of the built-in known-failing lists,
// sorted: NAME for each file testdata/known-failures/NAME.txt of the
// module, embedded in the binary (execnetconform.KnownFailures).
func KnownFailingNames() []string {
	ents, err := fs.ReadDir(execnetconform.KnownFailures, execnetconform.KnownFailuresDir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".txt"); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// OpenKnownFailing loads a known-failing list named by arg: a built-in
// list by name (see KnownFailingNames), or a file. An argument holding a
// slash or ending in .txt is always a file; any other is a built-in name
// first and a file second. Entries of a built-in list carry its name as
// their File.
func OpenKnownFailing(arg string) ([]KnownFailure, error) {
	isPath := strings.ContainsRune(arg, '/') || strings.ContainsRune(arg, os.PathSeparator) || strings.HasSuffix(arg, ".txt")
	if !isPath {
		data, err := fs.ReadFile(execnetconform.KnownFailures, path.Join(execnetconform.KnownFailuresDir, arg+".txt"))
		if err == nil {
			devs, derr := deviationIDs()
			if derr != nil {
				devs = nil
			}
			return ParseKnownFailing(strings.NewReader(string(data)), arg, devs)
		}
		if _, serr := os.Stat(arg); serr != nil {
			return nil, fmt.Errorf("%w: %q is neither a built-in list (%s) nor a file", ErrKnownFailing, arg, strings.Join(KnownFailingNames(), ", "))
		}
	}
	return LoadKnownFailing(arg)
}

// WriteKnownFailing writes a known-failing list that makes the result's
// failures expected: the entry that matched each xfail case is kept as it
// was (with its deviation id), and each plain failure gets a new "PORT:"
// entry whose reason is the first line of its message, to be edited into
// a DEV-N of SPEC.md Appendix B or a description of the port's deviation.
// Timeouts and crashes get no entry (a list only expects plain failures
// without a /regexp/), nor do passing, xpass and stale ones; they are
// counted in the header. The header names the target and the run.
func WriteKnownFailing(w io.Writer, res *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Known failures of %s\n", res.Target)
	if len(res.Implementation) > 0 {
		fmt.Fprintf(&b, "# implementation: %s\n", formatInfo(res.Implementation))
	}
	fmt.Fprintf(&b, "# written by execnet-conform %s (spec %s) on %s, from a run of %d cases.\n",
		res.SuiteVersion, res.SpecVersion, res.Started.UTC().Format(time.DateOnly), len(res.Cases))
	b.WriteString("# Each entry: case id, DEV-N of SPEC.md Appendix B or PORT: (a deviation of this\n")
	b.WriteString("# implementation), optional /regexp/ of the failure message, reason.\n")
	var left []string
	seen := map[string]bool{}
	for _, c := range res.Cases {
		switch {
		case (c.Outcome == XFail || c.Outcome == Pass) && c.Known != nil:
			if c.Outcome == Pass && !c.Known.MayPass {
				continue
			}
			k := *c.Known
			line := k.String()
			if k.CaseID != c.ID { // a glob entry: keep it once
				if seen[k.CaseID] {
					continue
				}
				seen[k.CaseID] = true
			}
			fmt.Fprintln(&b, line)
		case c.Outcome == Fail && c.Known != nil:
			// Listed, but failed with another message: keep the
			// deviation, drop the /regexp/ that no longer matches.
			k := *c.Known
			k.CaseID, k.Match = c.ID, nil
			fmt.Fprintf(&b, "# %s:%d expected another message\n%s\n", c.Known.File, c.Known.Line, k.String())
		case c.Outcome == Fail:
			reason := failureGist(c.Message)
			if reason == "" {
				reason = "fails"
			}
			fmt.Fprintf(&b, "%s  PORT:  %s\n", c.ID, reason)
		case c.Outcome == Timeout || c.Outcome == Crash:
			left = append(left, fmt.Sprintf("%s (%s)", c.ID, c.Outcome))
		}
	}
	for _, l := range left {
		fmt.Fprintf(&b, "# not listed, %s: a known-failing entry expects a plain failure\n", l)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// matchKnown maps each case id to its known-failing entry (an exact entry
// first, else the first glob that matches); used[i] tells whether list[i]
// matched any case.
func matchKnown(list []KnownFailure, cases []Case) (known map[string]*KnownFailure, used []bool) {
	known = map[string]*KnownFailure{}
	used = make([]bool, len(list))
	exact := map[string]int{}
	isGlob := func(id string) bool { return strings.ContainsAny(id, "*?[") }
	for i := range list {
		if !isGlob(list[i].CaseID) {
			exact[list[i].CaseID] = i
		}
	}
	for _, c := range cases {
		if i, ok := exact[c.ID]; ok {
			used[i] = true
			known[c.ID] = &list[i]
			continue
		}
		for i := range list {
			if isGlob(list[i].CaseID) && globID(list[i].CaseID, c.ID) {
				used[i] = true
				known[c.ID] = &list[i]
				break
			}
		}
	}
	return known, used
}

// MatchKnownID reports whether the case id of a known-failing entry (an
// exact id, or globs per segment) names the case id.
func MatchKnownID(entry, id string) bool {
	return entry == id || globID(entry, id)
}

// globID reports whether pattern matches id segment by segment, with the
// same number of segments.
func globID(pattern, id string) bool {
	ps, is := strings.Split(pattern, "/"), strings.Split(id, "/")
	if len(ps) != len(is) {
		return false
	}
	for i := range ps {
		if ok, err := path.Match(ps[i], is[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

// failureGist shortens a failure message to one line for a list entry:
// its first line and, for a multi-line message (a traceback), its last line.
func failureGist(msg string) string {
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	first := oneLine(lines[0], 120)
	if len(lines) == 1 {
		return first
	}
	return first + " | " + oneLine(lines[len(lines)-1], 120)
}
