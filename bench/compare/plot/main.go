// Command plot draws docs/compare-concurrency.png from the sweep lines that
// `gocompare sweep` prints: throughput and latency percentiles of the
// daemon's css Extract against the number of concurrent callers.
//
//	plot -in docs/dev/compare-sweep.txt -out docs/compare-concurrency.png
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image/color"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// point is one sweep line.
type point struct {
	callers       float64
	rps           float64
	p50, p90, p99 float64 // milliseconds
}

func main() {
	in := flag.String("in", "docs/dev/compare-sweep.txt", "gocompare sweep output")
	out := flag.String("out", "docs/compare-concurrency.png", "the PNG to write")
	title := flag.String("title", "", "a subtitle (page, machine)")
	flag.Parse()
	pts, header, err := read(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
	if *title == "" {
		*title = header
	}
	if err := draw2(pts, *title, *out); err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
}

// read parses "sweep callers=N ... rps=R p50_ns=..." lines; the first
// comment line becomes the subtitle.
func read(path string) ([]point, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	var (
		pts    []point
		header string
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# sweep: ") && header == "" {
			header = strings.TrimPrefix(line, "# sweep: ")
		}
		if !strings.HasPrefix(line, "sweep ") {
			continue
		}
		kv := map[string]float64{}
		for _, f := range strings.Fields(line)[1:] {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, "", fmt.Errorf("%s: %q: %w", path, f, err)
			}
			kv[k] = x
		}
		pts = append(pts, point{
			callers: kv["callers"], rps: kv["rps"],
			p50: kv["p50_ns"] / 1e6, p90: kv["p90_ns"] / 1e6, p99: kv["p99_ns"] / 1e6,
		})
	}
	if err := sc.Err(); err != nil {
		return nil, "", err
	}
	if len(pts) == 0 {
		return nil, "", fmt.Errorf("%s: no sweep lines", path)
	}
	return pts, header, nil
}

// draw2 draws throughput and latency side by side, callers on a log2 axis.
func draw2(pts []point, subtitle, out string) error {
	ticks := make([]plot.Tick, len(pts))
	for i, p := range pts {
		ticks[i] = plot.Tick{Value: p.callers, Label: strconv.FormatFloat(p.callers, 'f', -1, 64)}
	}
	newPlot := func(title, ylabel string) *plot.Plot {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "concurrent callers"
		p.Y.Label.Text = ylabel
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.Y.Min = 0
		p.Add(plotter.NewGrid())
		return p
	}
	series := func(f func(point) float64) plotter.XYs {
		xy := make(plotter.XYs, len(pts))
		for i, p := range pts {
			xy[i] = plotter.XY{X: p.callers, Y: f(p)}
		}
		return xy
	}
	add := func(p *plot.Plot, name string, xy plotter.XYs, c color.Color) error {
		l, s, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		l.Color, s.Color = c, c
		p.Add(l, s)
		p.Legend.Add(name, l, s)
		return nil
	}

	tp := newPlot("Throughput", "calls per second")
	if err := add(tp, "css Extract", series(func(p point) float64 { return p.rps }), color.RGBA{0x1f, 0x77, 0xb4, 0xff}); err != nil {
		return err
	}
	tp.Legend.Top = false
	tp.Legend.Left = false

	lp := newPlot("Latency per call", "milliseconds")
	for _, s := range []struct {
		name string
		f    func(point) float64
		c    color.Color
	}{
		{"p50", func(p point) float64 { return p.p50 }, color.RGBA{0x2c, 0xa0, 0x2c, 0xff}},
		{"p90", func(p point) float64 { return p.p90 }, color.RGBA{0xff, 0x7f, 0x0e, 0xff}},
		{"p99", func(p point) float64 { return p.p99 }, color.RGBA{0xd6, 0x27, 0x28, 0xff}},
	} {
		if err := add(lp, s.name, series(s.f), s.c); err != nil {
			return err
		}
	}
	lp.Legend.Top = true
	lp.Legend.Left = true

	const w, h = 10 * vg.Inch, 4.4 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	// A line of text above the two panels.
	head := plot.New()
	head.Title.Text = "riptide-poold css Extract vs concurrency — " + subtitle
	head.HideAxes()
	top := draw.Crop(dc, 0, 0, h-0.45*vg.Inch, 0)
	head.Draw(top)
	body := draw.Crop(dc, 0, 0, 0, -0.45*vg.Inch)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 6, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align([][]*plot.Plot{{tp, lp}}, tiles, body)
	tp.Draw(canvases[0][0])
	lp.Draw(canvases[0][1])

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
