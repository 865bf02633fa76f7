// Package spec holds the protocol constants of SPEC.md and a registry of
// its normative clauses.
//
// SPEC.md (embedded in the root package as execnetconform.SpecMarkdown) is
// written so that every normative sentence is one clause that starts with a
// stable anchor such as [SER-INT-3]. Clauses parses the document into
// Clause values, Lookup finds one by id, DeviationIDs lists the DEV-N rows
// of Appendix B (the known deviations of Python execnet), and ErrorClasses
// lists the decoder error class names of section 6.
package spec
