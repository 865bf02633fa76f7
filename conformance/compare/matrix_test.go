package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/cases"
	"github.com/execnet-conform/execnet-conform/internal/peers"
)

func TestNewMatrix(t *testing.T) {
	a := report("1.0", kc("x/same", conformance.Pass, ""), kc("x/diff", conformance.Pass, ""), kc("x/only-a", conformance.Fail, "f"))
	b := report("2.0", kc("x/same", conformance.Pass, ""), kc("x/diff", conformance.Crash, "EOF"))
	m := NewMatrix([]Column{{Name: "a", Report: a}, {Name: "broken", Err: errors.New("cannot start")}, {Name: "b", Report: b}})
	if m.Cases != 3 {
		t.Errorf("Cases = %d, want 3", m.Cases)
	}
	if len(m.Rows) != 2 || m.Rows[0].ID != "x/diff" || m.Rows[1].ID != "x/only-a" {
		t.Fatalf("rows %+v, want x/diff and x/only-a (a column that did not run is not a difference)", m.Rows)
	}
	if got := m.Rows[0].Cells; got[0] != conformance.Pass || got[1] != "" || got[2] != conformance.Crash {
		t.Errorf("x/diff cells %v", got)
	}
	if tot := m.Totals(0); tot[conformance.Pass] != 2 || tot[conformance.Fail] != 1 {
		t.Errorf("totals of a: %v", tot)
	}
	var md, js bytes.Buffer
	if err := WriteMatrixMarkdown(&md, m); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"### execnet-conform matrix: 3 cases, 2 differ",
		"- **broken**: not run: cannot start",
		"| case | a | broken | b |",
		"| `x/diff` | pass | - | crash |",
		"| `x/only-a` | fail | - | - |",
		"| **passed** | 2 | - | 1 |",
		"| **crashed** | 0 | - | 1 |",
	} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("markdown lacks %q:\n%s", s, md.String())
		}
	}
	if strings.Contains(md.String(), "timed out") {
		t.Errorf("markdown has a totals row for an outcome no column has:\n%s", md.String())
	}
	if err := WriteMatrixJSON(&js, m); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Schema  string
		Columns []struct {
			Name   string
			Error  string
			Totals map[string]int
		}
		Rows []Row
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Schema != MatrixSchema || len(back.Columns) != 3 || back.Columns[1].Error != "cannot start" ||
		back.Columns[2].Totals["crash"] != 1 || len(back.Rows) != 2 {
		t.Errorf("JSON: %s", js.String())
	}
}

func TestStatusMatrix(t *testing.T) {
	a := report("1.9", kc("x/listed", conformance.XFail, "f"), kc("x/fixed", conformance.XFail, "f"), kc("x/same", conformance.Pass, ""))
	b := report("2.1", kc("x/listed", conformance.Fail, "f"), kc("x/fixed", conformance.Pass, ""), kc("x/same", conformance.Pass, ""))
	cols := []Column{{Name: "a", Report: a}, {Name: "b", Report: b}}
	if n := len(NewMatrix(cols).Rows); n != 2 {
		t.Errorf("outcome matrix: %d rows, want 2 (xfail|fail and xfail|pass)", n)
	}
	m := NewStatusMatrix(cols)
	if len(m.Rows) != 1 || m.Rows[0].ID != "x/fixed" || m.Rows[0].Cells[0] != "failed" || m.Rows[0].Cells[1] != "passed" {
		t.Errorf("status matrix rows %+v, want only x/fixed failed|passed", m.Rows)
	}
}

// TestMatrixMatchesSingleRuns runs a matrix over two real execnet
// releases and checks each column against a run of the same target alone.
func TestMatrixMatchesSingleRuns(t *testing.T) {
	peers.CPython(t)
	var targets []MatrixTarget
	for _, name := range []string{"execnet-1.9.0", "execnet-2.1.2"} {
		xspec, env, _, err := conformance.NamedTarget(name)
		if err != nil {
			peers.Missing(t, name+": "+err.Error())
		}
		targets = append(targets, MatrixTarget{Name: name, XSpec: xspec, Env: env})
	}
	base := conformance.Options{Select: conformance.Selector{Run: []string{"status", "channel/close-error"}},
		Seed: 1, Count: 10, Timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, results, err := RunMatrix(ctx, base, targets, cases.All(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, tg := range targets {
		opts := base
		opts.Target, opts.Env = tg.XSpec, tg.Env
		single, err := conformance.Run(ctx, opts, cases.All(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if results[i] == nil {
			t.Fatalf("%s: no result in the matrix: %v", tg.Name, m.Columns[i].Err)
		}
		if d := Compare(m.Columns[i].Report, FromResult(single)); len(d.Diffs) != 0 {
			t.Errorf("%s: the matrix column differs from a single run: %+v", tg.Name, d.Diffs)
		}
	}
	// The regression of 2.1 on a non-text CHANNEL_CLOSE_ERROR payload shows
	// as a row.
	found := false
	for _, r := range m.Rows {
		if r.ID == "channel/close-error/non-text-payload-accepted" {
			found = r.Cells[0] == conformance.Pass && r.Cells[1] == conformance.Crash
		}
	}
	if !found {
		var md bytes.Buffer
		WriteMatrixMarkdown(&md, m)
		t.Errorf("the matrix lacks the row channel/close-error/non-text-payload-accepted pass|crash:\n%s", md.String())
	}
}
