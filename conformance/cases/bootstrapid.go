package cases

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/transport"
)

// Clauses of the bootstrap id cases.
const (
	cBootID     = "BOOT-ID-1"
	cBootIDLine = "BOOT-ID-2"
	cProfGWID   = "CONF-GWID-1"
)

// idCaseTimeout bounds a bootstrap id case: one fresh popen worker (PyPy
// takes about a second to start), a line of up to a few hundred KB
// written in pieces, and one procedure.
const idCaseTimeout = 20 * time.Second

// idLongPad is the length of the comment that makes the long-line case's
// bootstrap line span several reads of any reader: more than three times
// the 64 KiB that a pipe holds and that the Go worker reads at once.
const idLongPad = 200 << 10

// idLongPiece is the size of the writes of the long line.
const idLongPiece = 32 << 10

// reportedID runs conform_gateway_id on the current session and returns
// the text it sent, failing t unless it sends one text item and ends
// normally (CONF-GWID-1).
func reportedID(t *conformance.T) string {
	ch := t.Exec(profile.GatewayID)
	v, raw := recvData(t, ch, "conform_gateway_id")
	s, ok := v.(codec.Str)
	if !ok {
		t.Fatalf("conform_gateway_id sent %s (hex %s), want the gateway id as text", reprOf(v), hexOf(raw))
	}
	t.ExpectClose(ch)
	return string(s)
}

// checkReportedID starts a second session whose bootstrap source names
// worker id want, its line edited by edit and written by write, and
// checks that the worker reports want. what says how the line was
// written, for the failure message.
func checkReportedID(t *conformance.T, want string, edit func(t *conformance.T, line string) string, write func(w io.Writer, line string) error, what string) {
	b := conformance.Bootstrap{WorkerID: want, WriteLine: func(w io.Writer, line string) error {
		if edit != nil {
			line = edit(t, line)
		}
		if write == nil {
			_, err := io.WriteString(w, line)
			return err
		}
		return write(w, line)
	}}
	t.WithBootstrap(b, func() {
		got := reportedID(t)
		if got != want {
			rule := "BOOT-ID-1: a worker that runs the source serves under the id it passes to serve"
			if !t.Target().IsPython() {
				rule = "BOOT-ID-2 (SHOULD): a worker that does not run Python takes the id its bootstrap line names"
			}
			t.Fatalf("the worker reports gateway id %q, want %q, the id its bootstrap line (%s) names (%s)", got, want, what, rule)
		}
	})
}

// lineBody returns the body of a bootstrap line, the text between the
// quotes of its string literal, or fails t if line is not a
// single-quoted literal and its LF as the runner writes it.
func lineBody(t *conformance.T, line string) string {
	if len(line) < 3 || line[0] != '\'' || !strings.HasSuffix(line, "'\n") {
		t.Fatalf("suite bug: the runner's bootstrap line is not a single-quoted literal and LF: starts %q, ends %q",
			line[:min(len(line), 20)], line[max(0, len(line)-20):])
	}
	return line[1 : len(line)-2]
}

// pyEscape returns text as it appears inside the runner's single-quoted
// literal.
func pyEscape(text string) string {
	l := transport.PyStringLiteral(text)
	return l[1 : len(l)-1]
}

// formSpan returns where the id form naming name (id=, a quote that may
// be escaped, name, a quote that may be escaped) starts and ends in line,
// taking the last occurrence of name. It fails t when there is none.
func formSpan(t *conformance.T, line, name string) (start, end int) {
	p := strings.LastIndex(line, name)
	if p < 0 {
		t.Fatalf("suite bug: the bootstrap line does not hold the worker id %q", name)
	}
	start = strings.LastIndex(line[:p], "id=")
	end = p + len(name)
	if strings.HasPrefix(line[end:], `\'`) {
		end += 2
	} else {
		end++
	}
	if start < 0 || p-start > 5 {
		t.Fatalf("suite bug: no id= right before the worker id %q in the bootstrap line", name)
	}
	return start, end
}

// cutsAt returns line cut before each of the offsets (ascending, inside
// the line).
func cutsAt(line string, offsets []int) [][]byte {
	var out [][]byte
	prev := 0
	for _, o := range offsets {
		if o > prev && o < len(line) {
			out = append(out, []byte(line[prev:o]))
			prev = o
		}
	}
	return append(out, []byte(line[prev:]))
}

// idName returns a worker id of n characters using every character
// BOOT-ID-2 allows, starting with tag.
func idName(tag string, n int) string {
	const chars = "abcXYZ019_.:@+-"
	var b strings.Builder
	b.WriteString(tag)
	for i := 0; b.Len() < n; i++ {
		b.WriteByte(chars[i%len(chars)])
	}
	return b.String()[:n]
}

func bootstrapIDCases() []conformance.Case {
	return []conformance.Case{
		{
			ID:          "bootstrap/id/named",
			Clauses:     []string{cBootID, cBootIDLine, cProfGWID},
			Level:       conformance.MUST,
			Description: "a popen worker whose bootstrap source serves under an id of every allowed character reports that id through conform_gateway_id",
			Timeout:     idCaseTimeout,
			Run: func(t *conformance.T) {
				checkReportedID(t, "conform-id.A_9:x@y+z-worker", nil, nil, "written whole")
			},
		},
		{
			ID:          "bootstrap/id/cut-inside-form",
			Clauses:     []string{cBootID, cBootIDLine, cProfGWID, cBootLine},
			Level:       conformance.MUST,
			Description: "the bootstrap line is written with a cut before every byte of its id='NAME' form: the worker still reports NAME",
			Timeout:     idCaseTimeout,
			Run: func(t *conformance.T) {
				name := "conform-cut.id-worker"
				write := func(w io.Writer, line string) error {
					start, end := formSpan(t, line, name)
					var offs []int
					for o := start; o <= end; o++ {
						offs = append(offs, o)
					}
					return conformance.WritePieces(w, cutsAt(line, offs))
				}
				checkReportedID(t, name, nil, write, "written with a cut before each byte of the id form")
			},
		},
		{
			ID:          "bootstrap/id/long-line",
			Clauses:     []string{cBootID, cBootIDLine, cProfGWID, cBootLine},
			Level:       conformance.MUST,
			Description: "a bootstrap line of over 200 KB (a comment in front of the source) written in 32 KiB pieces, with an id of 200 characters cut across two pieces: the worker reports the id",
			Timeout:     idCaseTimeout,
			Run: func(t *conformance.T) {
				name := idName("long-", 200)
				edit := func(t *conformance.T, line string) string {
					body := lineBody(t, line)
					return "'" + pyEscape("#"+strings.Repeat("p", idLongPad)+"\n") + body + "'\n"
				}
				write := func(w io.Writer, line string) error {
					start, end := formSpan(t, line, name)
					// Cut every idLongPiece bytes, and inside the id: after
					// "id=", in the middle of the name, before the closing
					// quote.
					offs := []int{start + 3, (start + end) / 2, end - 1}
					for o := idLongPiece; o < len(line); o += idLongPiece {
						offs = append(offs, o)
					}
					slices.Sort(offs)
					return conformance.WritePieces(w, cutsAt(line, slices.Compact(offs)))
				}
				checkReportedID(t, name, edit, write, fmt.Sprintf("a %d KB comment in front, written in %d KiB pieces and cut inside the id", idLongPad>>10, idLongPiece>>10))
			},
		},
		{
			ID:          "bootstrap/id/at-end-of-line",
			Clauses:     []string{cBootID, cBootIDLine, cProfGWID},
			Level:       conformance.MUST,
			Description: "the only id='NAME' form of the bootstrap line is its last statement, right before the literal's closing quote (the serve call takes the id from a variable set before it): the worker reports NAME",
			Timeout:     idCaseTimeout,
			Run: func(t *conformance.T) {
				name := "conform-end.id-worker"
				// The serve call's id becomes a variable assigned (in two
				// string pieces, which no id='NAME' form matches) right
				// before it; the source then ends with "; id='NAME'",
				// which Python runs only after serve returns.
				half := len(name) / 2
				edit := func(t *conformance.T, line string) string {
					body := lineBody(t, line)
					start, end := formSpan(t, body, name)
					call := strings.LastIndex(body[:start], "serve(")
					if call < 0 {
						t.Fatalf("suite bug: no serve( before the worker id in the bootstrap line")
					}
					assign := fmt.Sprintf("_xc_wid = '%s' '%s'\n", name[:half], name[half:])
					body = body[:call] + pyEscape(assign) + body[call:start] + "id=_xc_wid" + body[end:]
					// On the serve call's line: after an escaped newline the
					// form would follow the n of \n, and BOOT-ID-2 would not
					// count it.
					body = strings.TrimSuffix(body, `\n`) + pyEscape(fmt.Sprintf("; id='%s'", name))
					return "'" + body + "'\n"
				}
				checkReportedID(t, name, edit, nil, "ending in id='NAME'")
			},
		},
		{
			ID:          "bootstrap/id/not-a-form",
			Clauses:     []string{cBootID, cBootIDLine, cProfGWID},
			Level:       conformance.MUST,
			Description: "comments before and after the serve call hold text that is not an id='NAME' form (xid='...', id='', a 201-character name, an unclosed quote) and a form the serve call's id follows: the worker reports the serve call's id",
			Timeout:     idCaseTimeout,
			Run: func(t *conformance.T) {
				name := "conform-real.id-worker"
				edit := func(t *conformance.T, line string) string {
					body := lineBody(t, line)
					before := "# id='decoy-before' comes first, the serve call's id comes later\n"
					after := fmt.Sprintf("\n# xid='decoy-word' id='' id='%s' id='unclosed, no quote", idName("decoy-long-", 201))
					body = strings.TrimSuffix(body, `\n`)
					return "'" + pyEscape(before) + body + pyEscape(after) + "'\n"
				}
				checkReportedID(t, name, edit, nil, "with decoys in comments")
			},
		},
	}
}
