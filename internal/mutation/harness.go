//go:build linux

package mutation

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Config configures a harness run.
type Config struct {
	Root     string   // module root (the unmutated tree)
	Packages []string // package directories to mutate, relative to Root
	Worker   string   // package of the worker command, relative to Root ("./internal/mutation/worker")
	Runner   string   // package of the runner command ("./cmd/execnet-conform")
	Seed     int64    // sampling seed, also passed to the runner's --seed
	Sample   int      // mutants to run; 0 runs all
	// MutantTimeout bounds one mutant's suite run (wall clock); a run
	// that exceeds it is stopped and counted as killed ("run-bound").
	MutantTimeout time.Duration
	CaseTimeout   time.Duration // the runner's --timeout; 0 leaves the runner's own default
	Nice          int           // niceness of builds and runs (0: none)
	WorkDir       string        // scratch directory (binaries, mutated files, state)
	Go            string        // the go command
	Log           io.Writer     // progress, one line per mutant
	// Resume reuses results recorded in WorkDir/state.jsonl by an
	// earlier run with the same mutants.
	Resume bool
}

// moduleName returns the module path of the go.mod in root.
func moduleName(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(l), "module "); ok {
			return strings.TrimSpace(m), nil
		}
	}
	return "", fmt.Errorf("mutation: no module line in %s/go.mod", root)
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

func (c *Config) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if c.Nice > 0 {
		args = append([]string{"-n", strconv.Itoa(c.Nice), name}, args...)
		name = "nice"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.Root
	return cmd
}

// build builds pkg to out, with an overlay file when overlay is not
// empty; it returns the compiler's output on failure.
func (c *Config) build(ctx context.Context, pkg, out, overlay string, extra ...string) (string, error) {
	args := []string{"build", "-trimpath", "-o", out}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	args = append(args, extra...)
	args = append(args, pkg)
	cmd := c.command(ctx, c.Go, args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// generateAll lists every mutant of the packages' reachable functions,
// by id. It builds the worker once without inlining to learn which
// functions the linker keeps.
func generateAll(ctx context.Context, c *Config) ([]Mutant, error) {
	mod, err := moduleName(c.Root)
	if err != nil {
		return nil, err
	}
	scopeBin := filepath.Join(c.WorkDir, "scope-worker")
	if out, err := c.build(ctx, c.Worker, scopeBin, "", "-gcflags=all=-l"); err != nil {
		return nil, fmt.Errorf("mutation: building the worker for its symbols: %w\n%s", err, out)
	}
	var paths []string
	for _, p := range c.Packages {
		paths = append(paths, mod+"/"+filepath.ToSlash(filepath.Clean(p)))
	}
	reach, err := ReadReachable(ctx, c.Go, scopeBin, paths)
	if err != nil {
		return nil, err
	}
	var all []Mutant
	for i, p := range c.Packages {
		cmd := exec.CommandContext(ctx, c.Go, "list", "-f", `{{join .GoFiles "\n"}}`, "./"+filepath.Clean(p))
		cmd.Dir = c.Root
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("mutation: go list %s: %w", p, err)
		}
		for _, name := range strings.Fields(string(out)) {
			rel := filepath.ToSlash(filepath.Join(filepath.Clean(p), name))
			src, err := os.ReadFile(filepath.Join(c.Root, rel))
			if err != nil {
				return nil, err
			}
			pkg := paths[i]
			ms, err := Generate(rel, src, func(fn string) bool { return reach.Has(pkg, fn) })
			if err != nil {
				return nil, err
			}
			all = append(all, ms...)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	return all, nil
}

// codeHash hashes the loaded sections of an ELF binary except its build
// id and build info, which differ between builds of different sources
// even when the code is the same.
func codeHash(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	for _, s := range f.Sections {
		switch s.Name {
		case ".note.go.buildid", ".go.buildinfo":
			continue
		}
		if s.Flags&elf.SHF_ALLOC == 0 || s.Type == elf.SHT_NOBITS {
			continue
		}
		b, err := s.Data()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s:%d\n", s.Name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Execute runs the harness: it builds the runner and the original
// worker from the unmutated tree, checks that the suite passes against
// that worker, then builds each sampled mutant's worker (only the worker:
// the runner stays the original) and runs the suite against it, stopping
// at the first unexpected outcome.
func Execute(ctx context.Context, c *Config) (*Run, error) {
	if err := os.MkdirAll(c.WorkDir, 0o755); err != nil {
		return nil, err
	}
	all, err := generateAll(ctx, c)
	if err != nil {
		return nil, err
	}
	sample := Sample(all, c.Seed, c.Sample)
	c.logf("mutation: %d mutants generated, %d sampled (seed %d)", len(all), len(sample), c.Seed)

	runner := filepath.Join(c.WorkDir, "runner")
	if out, err := c.build(ctx, c.Runner, runner, ""); err != nil {
		return nil, fmt.Errorf("mutation: building the runner: %w\n%s", err, out)
	}
	base := filepath.Join(c.WorkDir, "worker-original")
	if out, err := c.build(ctx, c.Worker, base, ""); err != nil {
		return nil, fmt.Errorf("mutation: building the worker: %w\n%s", err, out)
	}
	baseHash, err := codeHash(base)
	if err != nil {
		return nil, err
	}
	runnerHash, err := codeHash(runner)
	if err != nil {
		return nil, err
	}
	// A recorded result is reused only for the same runner and the
	// same original worker: new cases, or other changes to the tree,
	// can change any mutant's fate.
	tree := runnerHash[:16] + "/" + baseHash[:16]
	if r := c.suite(ctx, runner, base, ""); r.status != Survived {
		return nil, fmt.Errorf("mutation: the suite does not pass against the original worker: %s %s %s", r.outcome, r.caseID, r.message)
	}
	c.logf("mutation: the suite passes against the original worker")

	done := map[string]Result{}
	statePath := filepath.Join(c.WorkDir, "state.jsonl")
	if c.Resume {
		done = readState(statePath, tree)
	}
	state, err := os.OpenFile(statePath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer state.Close()

	run := &Run{Seed: c.Seed, Packages: c.Packages, Generated: len(all), Sampled: len(sample)}
	for i, m := range sample {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r, ok := done[m.ID]; ok && r.Old == m.Old && r.New == m.New {
			run.Results = append(run.Results, r)
			continue
		}
		start := time.Now()
		r, err := c.mutant(ctx, m, runner, baseHash)
		if err != nil {
			return nil, err
		}
		c.logf("[%d/%d] %-13s %s (%s) %s", i+1, len(sample), r.Status, m.ID, time.Since(start).Round(100*time.Millisecond), r.Case)
		run.Results = append(run.Results, r)
		b, _ := json.Marshal(stateLine{Tree: tree, Result: r})
		if _, err := state.Write(append(b, '\n')); err != nil {
			return nil, err
		}
	}
	sort.Slice(run.Results, func(i, j int) bool { return run.Results[i].ID < run.Results[j].ID })
	return run, nil
}

// stateLine is one line of WORK/state.jsonl: a result and the tree
// (runner and original worker, by code hash) it was measured on.
type stateLine struct {
	Tree string `json:"tree"`
	Result
}

// readState returns the results recorded in path for tree.
func readState(path, tree string) map[string]Result {
	out := map[string]Result{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		var r stateLine
		if json.Unmarshal(l, &r) == nil && r.ID != "" && r.Tree == tree {
			out[r.ID] = r.Result
		}
	}
	return out
}

// mutant builds and judges one mutant.
func (c *Config) mutant(ctx context.Context, m Mutant, runner, baseHash string) (Result, error) {
	res := Result{Mutant: m}
	orig := filepath.Join(c.Root, filepath.FromSlash(m.File))
	src, err := os.ReadFile(orig)
	if err != nil {
		return res, err
	}
	mutated, err := m.Apply(src)
	if err != nil {
		return res, err
	}
	mdir := filepath.Join(c.WorkDir, "mutant")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		return res, err
	}
	mfile := filepath.Join(mdir, filepath.Base(orig))
	if err := os.WriteFile(mfile, mutated, 0o644); err != nil {
		return res, err
	}
	absOrig, err := filepath.Abs(orig)
	if err != nil {
		return res, err
	}
	ov, _ := json.Marshal(map[string]map[string]string{"Replace": {absOrig: mfile}})
	overlay := filepath.Join(mdir, "overlay.json")
	if err := os.WriteFile(overlay, ov, 0o644); err != nil {
		return res, err
	}
	bin := filepath.Join(c.WorkDir, "worker-mutant")
	killStray(bin)
	_ = os.Remove(bin)
	if out, err := c.build(ctx, c.Worker, bin, overlay); err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		res.Status = NotCompiled
		res.Message = firstLine(out)
		return res, nil
	}
	if h, err := codeHash(bin); err == nil && h == baseHash {
		res.Status = IdenticalBin
		return res, nil
	}
	r, retried := c.judge(ctx, runner, bin)
	killStray(bin)
	res.Status, res.Case, res.Outcome, res.Message, res.Retried = r.status, r.caseID, r.outcome, r.message, retried
	return res, ctx.Err()
}

// judge runs the suite with runner against the worker binary bin. Under
// load a TIMEOUT can be the machine's: a kill by TIMEOUT counts only if
// the case fails again on its own; otherwise, and after a run stopped at
// the wall-clock bound, the whole suite runs once more and that run
// decides.
func (c *Config) judge(ctx context.Context, runner, bin string) (r suiteResult, retried bool) {
	r = c.suite(ctx, runner, bin, "")
	if r.status == Killed && (r.outcome == "TIMEOUT" || r.outcome == "run-bound") {
		if r.caseID != "" && c.suite(ctx, runner, bin, r.caseID).status == Killed {
			return r, false
		}
		return c.suite(ctx, runner, bin, ""), true
	}
	return r, false
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return strings.TrimSpace(s)
}

type suiteResult struct {
	status                   Status
	caseID, outcome, message string
}

// outcomeLine matches the runner's line for an unexpected outcome (the
// runner prints only those without -v).
var outcomeLine = regexp.MustCompile(`^([A-Z]+)\s+(\S+) \(`)

// suite runs the runner against the worker binary, all cases or only
// the case only, and stops at the first unexpected outcome.
func (c *Config) suite(ctx context.Context, runner, worker, only string) suiteResult {
	bound := c.MutantTimeout
	timeout := c.CaseTimeout
	if only != "" {
		if timeout <= 0 {
			timeout = 5 * time.Second // the runner's usual default
		}
		timeout *= 4
		bound = timeout*4 + 30*time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	// The Go worker claims every optional profile the suite has cases
	// for (SPEC.md 12.8), so their cases judge its mutants too.
	args := []string{"run", "--target", "popen//python=" + worker, "--seed", strconv.FormatInt(c.Seed, 10), "--profile", "all"}
	if timeout > 0 {
		args = append(args, "--timeout", timeout.String())
	}
	if only != "" {
		args = append(args, "--run", only)
	}
	cmd := c.command(context.Background(), runner, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return suiteResult{status: Killed, outcome: "harness", message: err.Error()}
	}
	if err := cmd.Start(); err != nil {
		return suiteResult{status: Killed, outcome: "harness", message: err.Error()}
	}
	kill := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stop := context.AfterFunc(rctx, kill)
	defer stop()

	var res suiteResult
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var detail []string
	var grace <-chan time.Time
read:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break read
			}
			if res.caseID == "" {
				if m := outcomeLine.FindStringSubmatch(l); m != nil && m[1] != "PASS" && m[1] != "SKIP" && m[1] != "XFAIL" {
					res.caseID, res.outcome = m[2], m[1]
					grace = time.After(time.Second)
				}
				continue
			}
			if t := strings.TrimSpace(l); t != "" && len(detail) < 12 {
				detail = append(detail, t)
			}
		case <-grace:
			kill()
			break read
		}
	}
	stop()
	kill()
	for range lines {
	}
	err = cmd.Wait()
	res.message = oneLine(strings.Join(detail, " | "), 400)
	switch {
	case res.caseID != "":
		res.status = Killed
	case rctx.Err() != nil && ctx.Err() == nil:
		res.status, res.outcome = Killed, "run-bound"
		res.message = fmt.Sprintf("the run did not end within %s", bound)
	case err == nil:
		res.status = Survived
	default:
		var ee *exec.ExitError
		res.status, res.outcome = Killed, "exit"
		if errors.As(err, &ee) {
			res.outcome = fmt.Sprintf("exit %d", ee.ExitCode())
		}
		res.message = oneLine(lastLines(stderr.String(), 3), 400)
	}
	return res
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, " | ")
}

// killStray ends worker processes left from the binary at path (a
// mutant that does not end when its master goes): they are ours, found
// by their executable.
func killStray(path string) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		if strings.TrimSuffix(exe, " (deleted)") == path {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
