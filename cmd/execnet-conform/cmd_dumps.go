package main

import (
	"fmt"
	"io"
)

func runDumps(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "execnet-conform: not implemented yet")
	return exitUsage
}
func runLoads(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "execnet-conform: not implemented yet")
	return exitUsage
}
