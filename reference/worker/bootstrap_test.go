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
	long := strings.Repeat("x", 200000) + "\nrest"
	br := bufio.NewReaderSize(strings.NewReader(long), 4096)
	line, err := readBootstrapLine(br, 1<<20)
	if err != nil || len(line) != 200001 {
		t.Fatalf("long line: len %d, err %v", len(line), err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "rest" {
		t.Fatalf("bytes after the line = %q, want %q", rest, "rest")
	}

	_, err = readBootstrapLine(bufio.NewReaderSize(strings.NewReader(long), 4096), 1000)
	if !errors.Is(err, ErrLineTooLong) || !errors.Is(err, ErrBootstrap) {
		t.Fatalf("over the bound: err = %v, want ErrLineTooLong", err)
	}
	_, err = readBootstrapLine(bufio.NewReader(strings.NewReader("no newline")), 1000)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ErrBootstrap) {
		t.Fatalf("no newline: err = %v, want io.ErrUnexpectedEOF", err)
	}
	var be *BootstrapError
	if !errors.As(err, &be) || be.Read != len("no newline") {
		t.Fatalf("BootstrapError = %+v", be)
	}
}
