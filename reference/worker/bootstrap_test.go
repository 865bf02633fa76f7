package worker

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestWorkerID(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		// As execnet 1.9 writes it: the line is repr() of the source, so
		// the quotes around the id are escaped.
		{`'import sys\nserve(io, id=\'gw3-worker\')'` + "\n", "gw3-worker"},
		{`"x = dict(id=id)\nserve(init_popen_io(execmodel), id='abc-worker')"` + "\n", "abc-worker"},
		{"'import sys;exec(eval(sys.stdin.readline()))'\n", ""},
		{"\n", ""},
	} {
		if got := WorkerID([]byte(tc.line)); got != tc.want {
			t.Errorf("WorkerID(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestReadBootstrapLine(t *testing.T) {
	long := strings.Repeat("x", 200000) + " id='gw7' \nrest"
	br := bufio.NewReaderSize(strings.NewReader(long), 4096)
	id, n, err := readBootstrap(br, 1<<20)
	if err != nil || n != 200000+len(" id='gw7' \n") || id != "gw7" {
		t.Fatalf("long line: id %q, len %d, err %v", id, n, err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "rest" {
		t.Fatalf("bytes after the line = %q, want %q", rest, "rest")
	}

	_, _, err = readBootstrap(bufio.NewReaderSize(strings.NewReader(long), 4096), 1000)
	if !errors.Is(err, ErrLineTooLong) || !errors.Is(err, ErrBootstrap) {
		t.Fatalf("over the bound: err = %v, want ErrLineTooLong", err)
	}
	_, _, err = readBootstrap(bufio.NewReader(strings.NewReader("no newline")), 1000)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ErrBootstrap) {
		t.Fatalf("no newline: err = %v, want io.ErrUnexpectedEOF", err)
	}
	var be *BootstrapError
	if !errors.As(err, &be) || be.Read != len("no newline") {
		t.Fatalf("BootstrapError = %+v", be)
	}
	// A line of exactly the bound, newline included, is accepted; one
	// byte more is not.
	if _, _, err := readBootstrap(bufio.NewReader(strings.NewReader(strings.Repeat("y", 99)+"\n")), 100); err != nil {
		t.Fatalf("line of the bound: %v", err)
	}
	if _, _, err := readBootstrap(bufio.NewReader(strings.NewReader(strings.Repeat("y", 100)+"\n")), 100); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("line one over the bound: %v", err)
	}
}

// oneByteReader returns at most n bytes per Read, so that the line comes
// in pieces that split the id form anywhere.
type oneByteReader struct {
	r io.Reader
	n int
}

func (o *oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), o.n)]) }

// TestReadBootstrapIDAcrossReads: readBootstrap keeps only a window of
// the line, so it must find the same id as WorkerID on the whole line
// however the line is cut into reads.
func TestReadBootstrapIDAcrossReads(t *testing.T) {
	pad := strings.Repeat("z", 300)
	lines := []string{
		"id='gw0-worker'",
		pad + "id='gw1'" + pad,
		pad + "xid='no' id=\\'yes\\'" + pad,
		pad + "id='" + strings.Repeat("a", 200) + "'" + pad,
		pad + "id='" + strings.Repeat("a", 201) + "'" + pad,
		"id='first' " + pad + " id='second'",
		pad + "_id='no'",
		"serve(io, id='sock-worker')",
	}
	for _, line := range lines {
		want := WorkerID([]byte(line + "\n"))
		for _, step := range []int{1, 2, 3, 7, 64, 255, 256, 257, 4096} {
			for _, bufSize := range []int{16, 4096} {
				br := bufio.NewReaderSize(&oneByteReader{strings.NewReader(line + "\n"), step}, bufSize)
				got, n, err := readBootstrap(br, 1<<20)
				if err != nil || got != want || n != len(line)+1 {
					t.Fatalf("line %.40q... in reads of %d (buffer %d): id %q, n %d, err %v; want %q", line, step, bufSize, got, n, err, want)
				}
			}
		}
	}
}

// TestReadBootstrapIDEveryOffset puts an id form at every offset of the
// line relative to the read boundaries (reads of a fixed size, so that
// the form starts at every position of a read and of readBootstrap's
// window) and checks that the windowed scan finds what WorkerID finds on
// the whole line. The form is followed by nothing, by a later form, or by
// a window's length of other bytes (the window reaches the form only
// then), and preceded by bytes that do or do not let it count (a word
// byte before "id" does not): the window must neither lose a form nor
// revive one.
func TestReadBootstrapIDEveryOffset(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("about 70 000 lines, each read in pieces: seconds of pure CPU, minutes under -race")
	}
	far := strings.Repeat(".", idTail)
	tails := []string{"", " id='last'", far, far + " id='last'"}
	runs := 0
	for _, step := range []int{5, 256, 257} {
		for _, name := range []string{"a", strings.Repeat("n", maxIDLen)} {
			for _, q := range []string{"'", `\'`} {
				form := "id=" + q + name + q
				for _, pad := range []string{".", "x"} {
					for _, tail := range tails {
						for p := 0; p <= 2*idTail+step+len(form); p++ {
							line := " " + strings.Repeat(pad, p) + form + tail + "\n"
							want := WorkerID([]byte(line))
							br := bufio.NewReaderSize(&oneByteReader{strings.NewReader(line), step}, max(step, 16))
							got, n, err := readBootstrap(br, 1<<20)
							if err != nil || got != want || n != len(line) {
								t.Fatalf("form %.20q... after %d of %q, then %.20q..., in reads of %d: id %q, n %d, err %v; want %q",
									form, p, pad, tail, step, got, n, err, want)
							}
							runs++
						}
					}
				}
			}
		}
	}
	t.Logf("%d lines", runs)
}
