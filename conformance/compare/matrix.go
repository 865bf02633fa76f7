package compare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
)

// MatrixSchema is the schema id of the JSON form of a matrix.
const MatrixSchema = "execnet-conform/matrix/v1"

// Column is one target of a matrix: its run's report, or the error that
// kept it from running.
type Column struct {
	Name string
	// Report is nil when the target could not be run (Err says why).
	Report *Report
	Err    error
	// KnownFailing is the known-failing list the run used ("" for none).
	KnownFailing string
	Duration     time.Duration
}

// Row is one case whose outcome differs between the columns that ran.
type Row struct {
	ID      string   `json:"id"`
	Clauses []string `json:"clauses"`
	// Cells holds the outcome per column ("" when the column has no such
	// case); in a status matrix, the Status as an Outcome string.
	Cells []conformance.Outcome `json:"outcomes"`
}

// Matrix is the table of outcomes of several runs.
type Matrix struct {
	Columns []Column
	// Rows lists the cases whose outcome differs anywhere, in case order
	// of the first column that has them.
	Rows []Row
	// Cases is the number of distinct cases over all columns.
	Cases int
}

// NewMatrix builds the matrix of the columns' reports. A column that did
// not run is left out when deciding which rows differ.
func NewMatrix(cols []Column) *Matrix { return newMatrix(cols, false) }

// NewStatusMatrix is NewMatrix with the known-failing lists taken out:
// each cell is the case's Status (passed, failed, skipped), so that rows
// differ only where the implementations behave differently, whatever
// lists the runs used.
func NewStatusMatrix(cols []Column) *Matrix { return newMatrix(cols, true) }

func newMatrix(cols []Column, byStatus bool) *Matrix {
	m := &Matrix{Columns: cols}
	byCol := make([]map[string]Case, len(cols))
	var order []string
	seen := map[string]bool{}
	clauses := map[string][]string{}
	for i, c := range cols {
		byCol[i] = map[string]Case{}
		if c.Report == nil {
			continue
		}
		for _, cs := range c.Report.Cases {
			byCol[i][cs.ID] = cs
			if !seen[cs.ID] {
				seen[cs.ID] = true
				order = append(order, cs.ID)
				clauses[cs.ID] = cs.Clauses
			}
		}
	}
	m.Cases = len(order)
	for _, id := range order {
		row := Row{ID: id, Clauses: clauses[id], Cells: make([]conformance.Outcome, len(cols))}
		differs := false
		var first conformance.Outcome
		firstSet := false
		for i, c := range cols {
			if c.Report == nil {
				continue
			}
			cs, ok := byCol[i][id]
			if ok {
				row.Cells[i] = cs.Outcome
				if byStatus {
					row.Cells[i] = conformance.Outcome(StatusOf(cs.Outcome))
				}
			}
			if !firstSet {
				first, firstSet = row.Cells[i], true
			} else if row.Cells[i] != first {
				differs = true
			}
		}
		if differs {
			if row.Clauses == nil {
				row.Clauses = []string{}
			}
			m.Rows = append(m.Rows, row)
		}
	}
	return m
}

// Totals returns the number of cases per outcome in column i.
func (m *Matrix) Totals(i int) map[conformance.Outcome]int {
	t := map[conformance.Outcome]int{}
	for _, o := range conformance.Outcomes() {
		t[o] = 0
	}
	if r := m.Columns[i].Report; r != nil {
		for _, c := range r.Cases {
			t[c.Outcome]++
		}
	}
	return t
}

// MatrixTarget is one target RunMatrix runs the suite against.
type MatrixTarget struct {
	Name  string
	XSpec string
	// Env is the popen target's environment (Options.Env; nil: the
	// default reduced environment).
	Env []string
	// KnownFailing is the list to apply, KnownFile its name for the table.
	KnownFailing []conformance.KnownFailure
	KnownFile    string
}

// RunMatrix runs the cases against each target in turn, with base's other
// options (the same seed and count for all), and returns the matrix and
// each target's full result (nil for a target that could not be run).
// A target that cannot be started does not stop the others; its column
// carries the error. progress, if not nil, gets a line per target.
func RunMatrix(ctx context.Context, base conformance.Options, targets []MatrixTarget, cases []conformance.Case, progress io.Writer) (*Matrix, []*conformance.Result, error) {
	cols, results, err := runColumns(ctx, base, targets, cases, progress)
	if err != nil {
		return nil, results, err
	}
	return NewMatrix(cols), results, nil
}

// RunColumns runs the targets as RunMatrix does and returns the columns,
// for NewMatrix or NewStatusMatrix.
func RunColumns(ctx context.Context, base conformance.Options, targets []MatrixTarget, cases []conformance.Case, progress io.Writer) ([]Column, []*conformance.Result, error) {
	return runColumns(ctx, base, targets, cases, progress)
}

func runColumns(ctx context.Context, base conformance.Options, targets []MatrixTarget, cases []conformance.Case, progress io.Writer) ([]Column, []*conformance.Result, error) {
	if len(targets) == 0 {
		return nil, nil, errors.New("compare: no targets for the matrix")
	}
	cols := make([]Column, len(targets))
	results := make([]*conformance.Result, len(targets))
	for i, t := range targets {
		opts := base
		opts.Target, opts.Env, opts.KnownFailing, opts.Open = t.XSpec, t.Env, t.KnownFailing, nil
		cols[i] = Column{Name: t.Name, KnownFailing: t.KnownFile}
		if progress != nil {
			fmt.Fprintf(progress, "matrix: running %s (%s)...\n", t.Name, t.XSpec)
		}
		start := time.Now()
		res, err := conformance.Run(ctx, opts, cases, nil)
		cols[i].Duration = time.Since(start)
		if err != nil {
			cols[i].Err = err
			if progress != nil {
				fmt.Fprintf(progress, "matrix: %s: %v\n", t.Name, err)
			}
		} else {
			results[i] = res
			cols[i].Report = FromResult(res)
			if progress != nil {
				fmt.Fprintf(progress, "matrix: %s: %s (%s)\n", t.Name, conformance.Summary(res), cols[i].Duration.Round(time.Second))
			}
		}
		if ctx.Err() != nil {
			return nil, results, ctx.Err()
		}
	}
	return cols, results, nil
}

// totalWords names the outcome totals in the table.
var totalWords = map[conformance.Outcome]string{
	conformance.Pass: "passed", conformance.Fail: "failed", conformance.XFail: "xfailed", conformance.XPass: "xpassed",
	conformance.Skip: "skipped", conformance.Timeout: "timed out", conformance.Crash: "crashed",
}

// WriteMatrixMarkdown writes the matrix as Markdown: the targets (their
// implementation, known-failing list and run time), then one table with a
// row per differing case, a column per target, and the totals per outcome.
// A cell "-" means the target has no such case or did not run.
func WriteMatrixMarkdown(w io.Writer, m *Matrix) error {
	ew := &errWriter{w: w}
	ew.printf("### execnet-conform matrix: %d cases, %d differ\n\n", m.Cases, len(m.Rows))
	for _, c := range m.Columns {
		switch {
		case c.Err != nil:
			ew.printf("- **%s**: not run: %s\n", c.Name, mdCell(c.Err.Error()))
		default:
			kf := "no known-failing list"
			if c.KnownFailing != "" {
				kf = "known-failing list " + c.KnownFailing
			}
			ew.printf("- **%s**: %s, %s (%s)\n", c.Name, mdCell(describe(c.Report)), kf, c.Duration.Round(time.Second))
		}
	}
	ew.printf("\n| case |")
	for _, c := range m.Columns {
		ew.printf(" %s |", mdCell(c.Name))
	}
	ew.printf("\n|---|%s\n", strings.Repeat("---|", len(m.Columns)))
	for _, r := range m.Rows {
		ew.printf("| `%s` |", r.ID)
		for i, o := range r.Cells {
			cell := string(o)
			if o == "" || m.Columns[i].Report == nil {
				cell = "-"
			}
			ew.printf(" %s |", cell)
		}
		ew.printf("\n")
	}
	for _, o := range conformance.Outcomes() {
		any := false
		for i := range m.Columns {
			if m.Totals(i)[o] > 0 {
				any = true
			}
		}
		if !any && o != conformance.Pass && o != conformance.Fail {
			continue
		}
		ew.printf("| **%s** |", totalWords[o])
		for i, c := range m.Columns {
			if c.Report == nil {
				ew.printf(" - |")
			} else {
				ew.printf(" %d |", m.Totals(i)[o])
			}
		}
		ew.printf("\n")
	}
	return ew.err
}

type jsonMatrixColumn struct {
	Name           string            `json:"name"`
	Target         string            `json:"target,omitempty"`
	Implementation map[string]string `json:"implementation,omitempty"`
	KnownFailing   string            `json:"known_failing,omitempty"`
	Error          string            `json:"error,omitempty"`
	DurationMS     int64             `json:"duration_ms"`
	Totals         map[string]int    `json:"totals"`
}

// WriteMatrixJSON writes the matrix in the schema
// "execnet-conform/matrix/v1": columns (with totals), then rows.
func WriteMatrixJSON(w io.Writer, m *Matrix) error {
	out := struct {
		Schema  string             `json:"schema"`
		Cases   int                `json:"cases"`
		Columns []jsonMatrixColumn `json:"columns"`
		Rows    []Row              `json:"rows"`
	}{Schema: MatrixSchema, Cases: m.Cases, Rows: m.Rows}
	if out.Rows == nil {
		out.Rows = []Row{}
	}
	for i, c := range m.Columns {
		jc := jsonMatrixColumn{Name: c.Name, KnownFailing: c.KnownFailing, DurationMS: c.Duration.Milliseconds(), Totals: map[string]int{}}
		if c.Err != nil {
			jc.Error = c.Err.Error()
		}
		if c.Report != nil {
			jc.Target, jc.Implementation = c.Report.Target, c.Report.Implementation
			for o, n := range m.Totals(i) {
				jc.Totals[string(o)] = n
			}
		}
		out.Columns = append(out.Columns, jc)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
