package main

import (
	"fmt"
	"io"
)

func runRun(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "execnet-conform: not implemented yet")
	return exitUsage
}
