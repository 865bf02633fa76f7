// Package tty decides whether output goes to a terminal, whether colour is
// wanted (NO_COLOR, https://no-color.org), and draws a one-line progress
// indicator that is silent when the output is not a terminal.
package tty

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&os.ModeCharDevice != 0
}

// Color reports whether coloured output suits w: a terminal, and NO_COLOR
// unset or empty.
func Color(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && IsTerminal(w) && os.Getenv("TERM") != "dumb"
}

// Progress rewrites one status line on a terminal.
type Progress struct {
	mu     sync.Mutex
	w      io.Writer
	on     bool
	lastLn int
}

// NewProgress returns a Progress on w; it draws nothing unless w is a
// terminal.
func NewProgress(w io.Writer) *Progress { return &Progress{w: w, on: IsTerminal(w)} }

// Update replaces the status line with msg.
func (p *Progress) Update(msg string) {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pad := ""
	if n := p.lastLn - len(msg); n > 0 {
		pad = fmt.Sprintf("%*s", n, "")
	}
	fmt.Fprintf(p.w, "\r%s%s", msg, pad)
	p.lastLn = len(msg)
}

// Done clears the status line.
func (p *Progress) Done() {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastLn > 0 {
		fmt.Fprintf(p.w, "\r%*s\r", p.lastLn, "")
		p.lastLn = 0
	}
}
