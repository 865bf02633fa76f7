package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
)

// WriteSVG draws bulk throughput (MiB/s, log scale) against item size (log
// scale), one line per pair plus the raw pipe, as a standalone SVG file.
func (r *Report) WriteSVG(w io.Writer) error {
	sizes := r.bulkSizes()
	if len(sizes) == 0 {
		return fmt.Errorf("bench: no bulk figures to chart")
	}
	type series struct {
		name string
		ys   []float64
		dash bool
	}
	var ss []series
	for _, p := range r.Pairs {
		if p.Error != "" {
			continue
		}
		s := series{name: p.Pair}
		for _, n := range sizes {
			s.ys = append(s.ys, p.BulkMiBps[strconv.Itoa(n)].Median)
		}
		ss = append(ss, s)
	}
	pipe := series{name: "raw pipe (faster kind)", dash: true}
	lim := r.Pipe.limit()
	for _, n := range sizes {
		pipe.ys = append(pipe.ys, lim.BulkMiBps[strconv.Itoa(n)])
	}
	ss = append(ss, pipe)

	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, y := range s.ys {
			if y > 0 {
				lo, hi = math.Min(lo, y), math.Max(hi, y)
			}
		}
	}
	if math.IsInf(lo, 0) {
		lo, hi = 1, 10
	}
	ylo, yhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if yhi == ylo {
		yhi++
	}
	const W, H, L, R, T, B = 760, 440, 70, 190, 40, 50
	pw, ph := float64(W-L-R), float64(H-T-B)
	xlo, xhi := math.Log2(float64(sizes[0])), math.Log2(float64(sizes[len(sizes)-1]))
	if xhi == xlo {
		xhi++
	}
	px := func(size int) float64 { return L + (math.Log2(float64(size))-xlo)/(xhi-xlo)*pw }
	py := func(y float64) float64 {
		if y <= 0 {
			y = lo
		}
		return T + ph - (math.Log10(y)-ylo)/(yhi-ylo)*ph
	}
	colors := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}

	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	quick := ""
	if r.Quick {
		quick = " (quick run: rough figures)"
	}
	p(`<text x="%d" y="22" font-size="15">Bulk throughput by item size (MiB/s, log scale) — %s%s</text>`+"\n", L, html.EscapeString(r.Date[:10]), quick)
	for e := ylo; e <= yhi; e++ {
		y := py(math.Pow(10, e))
		p(`<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", L, L+pw, y, y)
		p(`<text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n", L-6, y+4, math.Pow(10, e))
	}
	for _, n := range sizes {
		x := px(n)
		p(`<line x1="%.1f" x2="%.1f" y1="%d" y2="%.1f" stroke="#ddd"/>`+"\n", x, x, T, T+ph)
		p(`<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, T+ph+18, sizeName(n))
	}
	p(`<text x="%.1f" y="%d" text-anchor="middle">item size</text>`+"\n", L+pw/2, H-8)
	for i, s := range ss {
		c := colors[i%len(colors)]
		if s.dash {
			c = "#000"
		}
		pts := ""
		for j, y := range s.ys {
			pts += fmt.Sprintf("%.1f,%.1f ", px(sizes[j]), py(y))
		}
		dash := ""
		if s.dash {
			dash = ` stroke-dasharray="6,4"`
		}
		p(`<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", c, dash, pts)
		for j, y := range s.ys {
			p(`<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: %.0f MiB/s</title></circle>`+"\n",
				px(sizes[j]), py(y), c, html.EscapeString(s.name), sizeName(sizes[j]), y)
		}
		ly := T + 10 + i*20
		p(`<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", W-R+15, W-R+40, ly, ly, c, dash)
		p(`<text x="%d" y="%d">%s</text>`+"\n", W-R+46, ly+4, html.EscapeString(s.name))
	}
	p("</svg>\n")
	return nil
}
