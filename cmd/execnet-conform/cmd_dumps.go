package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// maxCLIInput bounds what dumps and loads read from stdin ("-").
const maxCLIInput = 64 << 20

// errHelp is returned by parseCodecArgs for -h: usage was printed, exit 0.
var errHelp = errors.New("help requested")

// codecUsage prints the usage of dumps or loads.
func codecUsage(w io.Writer, name, argName string) {
	fmt.Fprintf(w, "usage: execnet-conform %s [--format-version 1|2] %s\n\n", name, argName)
	if name == "dumps" {
		fmt.Fprintln(w, "Encodes a Python literal and prints the bytes in hex. LITERAL is read as Python reads it")
		fmt.Fprintln(w, "(-1j is -(1j)); - reads it from stdin, @FILE from a file.")
	} else {
		fmt.Fprintln(w, "Decodes hex (white space and a 0x prefix are ignored) and prints the value as a Python")
		fmt.Fprintln(w, "literal. - reads the hex from stdin, @FILE from a file.")
	}
	fmt.Fprintln(w, "\nflags (before or after the argument):")
	fmt.Fprintln(w, "  --format-version N")
	fmt.Fprintln(w, "    \tthe public dumps format: a version byte first, 1 (execnet < 2) or 2 (execnet >= 2);")
	fmt.Fprintln(w, "    \tby default the wire form of a frame payload, without version byte")
}

// parseCodecArgs parses "[--format-version 1|2] ARG" of dumps and loads,
// flags before or after ARG, and returns the version (0 for the wire
// form) and the argument's text: ARG "-" reads stdin, "@FILE" reads FILE.
// An argument that starts with "-" is ARG, not a flag, unless it names a
// flag: negative literals such as -1, -1j, --1j or -inf need no "--". -h
// prints the usage to stderr and returns errHelp.
func parseCodecArgs(name, argName string, args []string, stdin io.Reader, stderr io.Writer) (version int, arg string, err error) {
	var pos []string
	verText := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		flagName, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case !isFlagLike(a):
			pos = append(pos, a)
		case flagName == "h" || flagName == "help":
			codecUsage(stderr, name, argName)
			return 0, "", errHelp
		case flagName == "format-version":
			if !hasValue {
				if i+1 == len(args) {
					return 0, "", fmt.Errorf("%s: flag needs an argument: %s", name, a)
				}
				i++
				value = args[i]
			}
			verText = value
		default:
			return 0, "", fmt.Errorf("%s: flag provided but not defined: %s (usage: execnet-conform %s [--format-version 1|2] %s)", name, a, name, argName)
		}
	}
	if verText != "" {
		switch verText {
		case "1":
			version = 1
		case "2":
			version = 2
		default:
			return 0, "", fmt.Errorf("%s: --format-version must be 1 or 2, got %s", name, verText)
		}
	}
	if len(pos) != 1 {
		return 0, "", fmt.Errorf("%s: expected exactly one %s argument, got %d (use - to read stdin, @FILE to read a file)", name, argName, len(pos))
	}
	arg = pos[0]
	var r io.Reader
	what := ""
	switch {
	case arg == "-":
		r, what = stdin, "stdin"
	case strings.HasPrefix(arg, "@"):
		f, err := os.Open(arg[1:])
		if err != nil {
			return 0, "", fmt.Errorf("%s: %v", name, err)
		}
		defer f.Close()
		r, what = f, arg[1:]
	default:
		return version, arg, nil
	}
	data, err := io.ReadAll(io.LimitReader(r, maxCLIInput+1))
	if err != nil {
		return 0, "", fmt.Errorf("%s: reading %s: %v", name, what, err)
	}
	if len(data) > maxCLIInput {
		return 0, "", fmt.Errorf("%s: %s holds more than %d bytes", name, what, maxCLIInput)
	}
	return version, strings.TrimSpace(string(data)), nil
}

// isFlagLike reports whether a command-line argument is a flag rather than
// a literal: "-name" or "--name[=value]" with a name that is not one a
// negative Python literal can hold (-inf, -nan, -True, -False).
func isFlagLike(a string) bool {
	name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	if name == a || name == "" {
		return false // no dash, or "-" / "--"
	}
	name, _, _ = strings.Cut(name, "=")
	if name == "" || !(name[0] >= 'a' && name[0] <= 'z' || name[0] >= 'A' && name[0] <= 'Z') {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false // -float('nan'), -inf*1j, ...
		}
	}
	switch name {
	case "inf", "nan", "infj", "nanj", "True", "False", "None":
		return false
	}
	return true
}

// runDumps implements "execnet-conform dumps [--format-version 1|2]
// LITERAL": it prints the serialization of a Python literal in lowercase
// hex.
func runDumps(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	version, lit, err := parseCodecArgs("dumps", "LITERAL", args, stdin, stderr)
	if errors.Is(err, errHelp) {
		return exitOK
	}
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
	version, text, err := parseCodecArgs("loads", "HEX", args, stdin, stderr)
	if errors.Is(err, errHelp) {
		return exitOK
	}
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
	if hint := versionHint(data, version); hint != "" {
		fmt.Fprintln(stderr, "execnet-conform: loads:", hint)
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
		if version == 0 && len(data) > 0 && (data[0] == 1 || data[0] == 2) {
			fmt.Fprintf(stderr, "execnet-conform: loads: %v (the input starts with 0x%02x, the version byte of execnet's public dumps format: add --format-version %d)\n", err, data[0], data[0])
			return exitUsage
		}
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

// versionHint explains input that cannot be of the asked format: with
// --format-version the first byte must be a version byte (0x01 or 0x02),
// and a wire-form value (a frame payload) starts with an opcode instead.
func versionHint(data []byte, version int) string {
	if version == 0 || len(data) == 0 || data[0] == 1 || data[0] == 2 {
		return ""
	}
	if data[0] >= 0x40 && data[0] <= 0x54 {
		return fmt.Sprintf("the input lacks the format version byte (0x01 or 0x02) that --format-version %d expects: it starts with 0x%02x, an opcode; drop --format-version to read the wire form (a frame payload)", version, data[0])
	}
	return fmt.Sprintf("the input starts with 0x%02x, not a format version byte (0x01 or 0x02) as --format-version %d expects", data[0], version)
}
