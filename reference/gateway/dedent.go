package gateway

import "strings"

// Dedent removes the common leading whitespace of all non-blank lines, as
// Python's textwrap.dedent does (execnet applies it to source strings):
// lines holding only spaces and tabs become empty, and spaces and tabs are
// compared literally.
func Dedent(s string) string {
	lines := strings.SplitAfter(s, "\n")
	margin := ""
	have := false
	for i, l := range lines {
		body := strings.TrimRight(l, "\n")
		if strings.Trim(body, " \t") == "" {
			if body != "" {
				lines[i] = l[len(body):] // whitespace-only line: keep just the newline
			}
			continue
		}
		ws := body[:len(body)-len(strings.TrimLeft(body, " \t"))]
		switch {
		case !have:
			margin, have = ws, true
		case strings.HasPrefix(ws, margin):
		case strings.HasPrefix(margin, ws):
			margin = ws
		default:
			n := 0
			for n < len(ws) && n < len(margin) && ws[n] == margin[n] {
				n++
			}
			margin = margin[:n]
		}
	}
	if margin == "" {
		return strings.Join(lines, "")
	}
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, margin)
	}
	return strings.Join(lines, "")
}
