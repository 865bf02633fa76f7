package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// maxCLIInput bounds what dumps and loads read from stdin ("-").
const maxCLIInput = 64 << 20

// parseCodecArgs parses "[--format-version 1|2] ARG" and returns the
// version (0 for the wire form) and the argument; ARG "-" reads stdin.
func parseCodecArgs(name, argName string, args []string, stdin io.Reader) (version int, arg string, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&version, "format-version", 0, "public format version byte: 1 (execnet < 2) or 2 (execnet >= 2); default: wire form without version byte")
	if err := fs.Parse(protectNegative(args)); err != nil {
		return 0, "", fmt.Errorf("%s: %v (usage: execnet-conform %s [--format-version 1|2] %s)", name, err, name, argName)
	}
	if fs.NArg() != 1 {
		return 0, "", fmt.Errorf("%s: expected exactly one %s argument, got %d (use - to read stdin)", name, argName, fs.NArg())
	}
	switch version {
	case 0, 1, 2:
	default:
		return 0, "", fmt.Errorf("%s: --format-version must be 1 or 2, got %d", name, version)
	}
	arg = fs.Arg(0)
	if arg == "-" {
		data, err := io.ReadAll(io.LimitReader(stdin, maxCLIInput+1))
		if err != nil {
			return 0, "", fmt.Errorf("%s: reading stdin: %v", name, err)
		}
		if len(data) > maxCLIInput {
			return 0, "", fmt.Errorf("%s: stdin holds more than %d bytes", name, maxCLIInput)
		}
		arg = strings.TrimSpace(string(data))
	}
	return version, arg, nil
}

// protectNegative inserts "--" before the first argument that is a
// negative Python number (-1, -2.5, -inf, -(1+2j)) so that the flag
// package does not take it for a flag.
func protectNegative(args []string) []string {
	for i, a := range args {
		if a == "--" {
			return args
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		rest := a[1:]
		c := rest[0]
		if (c >= '0' && c <= '9') || c == '.' || c == '(' || c == ' ' ||
			strings.HasPrefix(rest, "inf") || strings.HasPrefix(rest, "nan") ||
			strings.HasPrefix(rest, "float(") || rest == "True" || rest == "False" {
			out := append(append(append([]string{}, args[:i]...), "--"), args[i:]...)
			return out
		}
	}
	return args
}

// runDumps implements "execnet-conform dumps [--format-version 1|2]
// LITERAL": it prints the serialization of a Python literal in lowercase
// hex.
func runDumps(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	version, lit, err := parseCodecArgs("dumps", "LITERAL", args, stdin)
	if err != nil {
		fmt.Fprintln(stderr, "execnet-conform:", err)
		return exitUsage
	}
	v, err := codec.ParseLiteral(lit)
	if err != nil {
		fmt.Fprintln(stderr, "execnet-conform: dumps:", err)
		return exitUsage
	}
	var out []byte
	if version == 0 {
		out, err = codec.Dumps(v)
	} else {
		out, err = codec.DumpsVersioned(v, byte(version))
	}
	if err != nil {
		fmt.Fprintln(stderr, "execnet-conform: dumps:", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, hex.EncodeToString(out))
	return exitOK
}

// runLoads implements "execnet-conform loads [--format-version 1|2] HEX":
// it decodes one value and prints its Python repr. Whitespace in HEX is
// ignored; bytes after STOP are an error.
func runLoads(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	version, text, err := parseCodecArgs("loads", "HEX", args, stdin)
	if err != nil {
		fmt.Fprintln(stderr, "execnet-conform:", err)
		return exitUsage
	}
	text = strings.Join(strings.Fields(text), "")
	text = strings.TrimPrefix(text, "0x")
	data, err := hex.DecodeString(text)
	if err != nil {
		fmt.Fprintln(stderr, "execnet-conform: loads: argument is not hex:", err)
		return exitUsage
	}
	var (
		v codec.Value
		n int
	)
	if version == 0 {
		d := codec.Decoder{StrConfig: codec.ChannelStrConfig}
		v, n, err = d.Loads(data)
	} else {
		d := codec.Decoder{StrConfig: codec.PublicStrConfig, Channel: codec.RejectChannels}
		var got byte
		v, got, n, err = d.LoadsVersioned(data)
		if err == nil && int(got) != version {
			err = fmt.Errorf("format version byte is %d, --format-version asks for %d", got, version)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "execnet-conform: loads:", err)
		return exitUsage
	}
	if n != len(data) {
		fmt.Fprintf(stderr, "execnet-conform: loads: %d trailing bytes after the STOP at offset %d\n", len(data)-n, n-1)
		return exitUsage
	}
	fmt.Fprintln(stdout, codec.Repr(v))
	return exitOK
}
