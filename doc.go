// Package execnetconform holds SPEC.md, the written specification of the
// execnet wire and bootstrap protocol, for the packages of this module.
//
// The module has three parts: the spec as data (package spec), a Go
// reference gateway (packages under reference/), and the conformance runner
// (packages under conformance/ and the execnet-conform command).
package execnetconform

import _ "embed"

// SpecMarkdown is the text of SPEC.md.
//
//go:embed SPEC.md
var SpecMarkdown string
