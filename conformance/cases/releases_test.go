package cases

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/internal/peers"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite README.md's compatibility table from the runs of TestExecnetReleases")

// releaseRun is one run of TestExecnetReleases: an execnet release on an
// interpreter, with the known-failing list shipped for it.
type releaseRun struct {
	label   string // column heading of the compatibility table
	list    string // file under testdata/known-failures
	python  string
	env     []string // added to the target's environment
	version string   // what conform_info must report as the version
}

// releaseBound bounds one whole run; the suite takes 25 to 50 s per run on
// the project's 2-core machine.
const releaseBound = 4 * time.Minute

// TestExecnetReleases runs the whole suite against every execnet release
// available (1.9.0 from Debian on CPython and PyPy; 2.0.2, 2.1.2 and main
// from ../shared/peers on CPython, imported through PYTHONPATH, which a
// popen target keeps) with the known-failing list shipped for it, and
// requires that nothing unexpected happens: no fail, xpass, timeout,
// crash or stale entry. It then checks that README.md's compatibility
// table is the one these runs produce (go test -run TestExecnetReleases
// -update-readme rewrites it).
func TestExecnetReleases(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite against each execnet release")
	}
	t.Parallel() // beside TestSSHTarget
	var runs []releaseRun
	for _, r := range peers.Releases(t) {
		runs = append(runs, releaseRun{label: r.Name, list: "execnet-" + r.Name + ".txt", python: peers.CPythonPath, env: r.Env(), version: r.Version})
		if r.Dir == "" {
			if _, ok := peers.Interpreters(t)["pypy"]; ok {
				runs = append(runs, releaseRun{label: r.Name + " PyPy", list: "execnet-" + r.Name + "-pypy.txt", python: peers.PyPyPath, version: r.Version})
			}
		}
	}
	// The runs go at once, not as parallel subtests (which -parallel caps
	// at GOMAXPROCS): a run spends most of its time waiting for execnet's
	// grace periods, not on the CPU, so five at once take about as long as
	// the slowest one.
	results := make([]*conformance.Result, len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, rr := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runRelease(rr)
		}()
	}
	wg.Wait()
	byLabel := map[string]*conformance.Result{}
	for i, rr := range runs {
		t.Run(strings.ReplaceAll(rr.label, " ", "-"), func(t *testing.T) {
			checkRelease(t, rr, results[i], errs[i])
		})
		byLabel[rr.label] = results[i]
	}
	if t.Failed() {
		return
	}
	var labels []string
	for _, rr := range runs {
		labels = append(labels, rr.label)
	}
	table := compatTable(labels, byLabel)
	const readme = "../../README.md"
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	updated, err := replaceBlock(b, table)
	if err != nil {
		t.Fatal(err)
	}
	if *updateReadme {
		if len(runs) < 5 {
			t.Fatalf("-update-readme needs every release (got %v)", labels)
		}
		if err := os.WriteFile(readme, updated, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if len(runs) < 5 {
		t.Logf("not every release ran (%v): README.md's table not checked", labels)
		return
	}
	if !bytes.Equal(updated, b) {
		t.Errorf("README.md's compatibility table is not the one the runs give; run go test ./conformance/cases -run TestExecnetReleases -update-readme. Want:\n%s", table)
	}
}

// runRelease runs the suite against one release with its list.
func runRelease(rr releaseRun) (*conformance.Result, error) {
	known, err := conformance.LoadKnownFailing("../../testdata/known-failures/" + rr.list)
	if err != nil {
		return nil, err
	}
	opts := conformance.Options{
		Target:       "popen//python=" + rr.python,
		Style:        "import",
		KnownFailing: known,
		// Every release serves the io-proxy (SPEC.md 12.9) and the
		// rsync receiver (12.10): execnet claims both profiles.
		Select: conformance.Selector{Profiles: []string{profileVia, profileRsync}},
		Seed:   1,
		Count:  20,
		Env:    append(conformance.TargetEnv(os.Environ(), nil), rr.env...),
		// a loaded CI machine starts interpreters slowly
		BootstrapTimeout: 30 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), releaseBound)
	defer cancel()
	res, err := conformance.Run(ctx, opts, All(), nil)
	if err != nil {
		return nil, fmt.Errorf("run against execnet %s: %w", rr.label, err)
	}
	return res, nil
}

// checkRelease fails t on a run error, any unexpected outcome or stale
// entry, or a worker that reports another execnet version than the
// release under test.
func checkRelease(t *testing.T, rr releaseRun, res *conformance.Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if u := unexpected(res); len(u) > 0 || len(res.Stale) > 0 {
		t.Fatalf("execnet %s with %s: %d unexpected outcomes, %d stale entries:\n%s",
			rr.label, rr.list, len(u), len(res.Stale), strings.Join(u, "\n"))
	}
	if v := res.Implementation["version"]; v != rr.version {
		t.Errorf("the worker reports execnet %q, want %q: the target did not import the release under test", v, rr.version)
	}
	t.Logf("execnet %s: %s (%s)", rr.label, conformance.Summary(res), res.Duration.Round(time.Second))
}

const (
	tableBegin = "<!-- execnet-releases:begin (generated by go test ./conformance/cases -run TestExecnetReleases -update-readme) -->\n"
	tableEnd   = "<!-- execnet-releases:end -->\n"
)

// compatTable renders, for each deviation id that any run listed, how
// many cases failed with it per release: "n" when each listed case failed,
// "n+k?" when k more are may-pass entries (fail in some runs only).
func compatTable(labels []string, results map[string]*conformance.Result) string {
	type cell struct{ sure, maybe int }
	cells := map[string]map[string]*cell{}
	for _, l := range labels {
		for _, c := range results[l].Cases {
			if c.Known == nil {
				continue
			}
			d := c.Known.Deviation
			if cells[d] == nil {
				cells[d] = map[string]*cell{}
			}
			if cells[d][l] == nil {
				cells[d][l] = &cell{}
			}
			if c.Known.MayPass {
				cells[d][l].maybe++
			} else {
				cells[d][l].sure++
			}
		}
	}
	devs := make([]string, 0, len(cells))
	for d := range cells {
		devs = append(devs, d)
	}
	num := regexp.MustCompile(`[0-9]+`)
	slices.SortFunc(devs, func(a, b string) int {
		x, _ := strconv.Atoi(num.FindString(a))
		y, _ := strconv.Atoi(num.FindString(b))
		return x - y
	})
	var sb strings.Builder
	sb.WriteString(tableBegin)
	sb.WriteString("| deviation |")
	for _, l := range labels {
		sb.WriteString(" " + l + " |")
	}
	sb.WriteString("\n|---|" + strings.Repeat("---|", len(labels)) + "\n")
	for _, d := range devs {
		sb.WriteString("| " + d + " |")
		for _, l := range labels {
			c := cells[d][l]
			switch {
			case c == nil:
				sb.WriteString(" - |")
			case c.maybe > 0 && c.sure > 0:
				fmt.Fprintf(&sb, " %d+%d? |", c.sure, c.maybe)
			case c.maybe > 0:
				fmt.Fprintf(&sb, " 0+%d? |", c.maybe)
			default:
				fmt.Fprintf(&sb, " %d |", c.sure)
			}
		}
		sb.WriteString("\n")
	}
	sb.WriteString(tableEnd)
	return sb.String()
}

// replaceBlock returns readme with the text between the table markers
// (markers included) replaced by table.
func replaceBlock(readme []byte, table string) ([]byte, error) {
	s := string(readme)
	i := strings.Index(s, tableBegin)
	j := strings.Index(s, tableEnd)
	if i < 0 || j < i {
		return nil, fmt.Errorf("README.md lacks the markers %q and %q", strings.TrimSpace(tableBegin), strings.TrimSpace(tableEnd))
	}
	return []byte(s[:i] + table + s[j+len(tableEnd):]), nil
}
