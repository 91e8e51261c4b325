package scan

import (
	"math"
	"sort"
)

// findTarget is the long side, in pixels, of the downscaled image the page is looked for in.
const findTarget = 640

// Acceptance bounds for a page region in the downscaled image.
const (
	minAreaFraction = 0.08 // of the frame: smaller is not a page at a document camera
	maxAreaFraction = 0.97 // of the frame: larger means the light region is the whole frame
	maxBorderTouch  = 0.01 // of the frame's perimeter the region may touch (page cut off otherwise)
	minQuadOfHull   = 0.90 // the best inscribed quadrilateral covers this much of the hull
	minFillOfHull   = 0.50 // the region (light pixels) fills this much of its hull
)

// small is a downscaled luminance image.
type small struct {
	pix  []uint8
	w, h int
	k    int // downscale factor: small pixel (x, y) covers full pixels [kx, kx+k) × [ky, ky+k)
}

func downscale(p plane) small {
	k := max(1, (max(p.w, p.h)+findTarget-1)/findTarget)
	s := small{w: p.w / k, h: p.h / k, k: k}
	s.pix = make([]uint8, s.w*s.h)
	sum := make([]int, s.w)
	for y := 0; y < s.h; y++ {
		clear(sum)
		for dy := 0; dy < k; dy++ {
			row := p.pix[(y*k+dy)*p.stride:]
			for x := 0; x < s.w; x++ {
				for dx := 0; dx < k; dx++ {
					sum[x] += int(row[x*k+dx])
				}
			}
		}
		for x := 0; x < s.w; x++ {
			s.pix[y*s.w+x] = uint8(sum[x] / (k * k))
		}
	}
	return s
}

// otsu returns the threshold t that best separates the histogram into two classes (≤ t and > t).
func otsu(pix []uint8) uint8 {
	var hist [256]int
	for _, v := range pix {
		hist[v]++
	}
	total := float64(len(pix))
	var sumAll float64
	for i, c := range hist {
		sumAll += float64(i * c)
	}
	var wB, sumB, best float64
	t := uint8(0)
	for i := 0; i < 256; i++ {
		wB += float64(hist[i])
		if wB == 0 {
			continue
		}
		wF := total - wB
		if wF == 0 {
			break
		}
		sumB += float64(i * hist[i])
		mB, mF := sumB/wB, (sumAll-sumB)/wF
		between := wB * wF * (mB - mF) * (mB - mF)
		if between > best {
			best, t = between, uint8(i)
		}
	}
	return t
}

// findPage looks for the page in a luminance plane and returns its outline in full-image pixels.
// ok is false when nothing in the frame looks like a whole page.
func findPage(y plane) (Quad, bool) {
	s := downscale(y)
	if s.w < 16 || s.h < 16 {
		return Quad{}, false
	}
	t := otsu(s.pix)
	n := s.w * s.h
	// label: 0 dark, 1 light not yet visited, 2 the largest light region, 3 outside (dark reachable
	// from the frame's edge); other light regions are relabelled 4.
	label := make([]uint8, n)
	for i, v := range s.pix {
		if v > t {
			label[i] = 1
		}
	}
	stack := make([]int32, 0, 1024)
	flood := func(start int, from, to uint8) int {
		stack = append(stack[:0], int32(start))
		label[start] = to
		count := 0
		for len(stack) > 0 {
			i := int(stack[len(stack)-1])
			stack = stack[:len(stack)-1]
			count++
			x, y := i%s.w, i/s.w
			if x > 0 && label[i-1] == from {
				label[i-1] = to
				stack = append(stack, int32(i-1))
			}
			if x < s.w-1 && label[i+1] == from {
				label[i+1] = to
				stack = append(stack, int32(i+1))
			}
			if y > 0 && label[i-s.w] == from {
				label[i-s.w] = to
				stack = append(stack, int32(i-s.w))
			}
			if y < s.h-1 && label[i+s.w] == from {
				label[i+s.w] = to
				stack = append(stack, int32(i+s.w))
			}
		}
		return count
	}
	bestStart, bestArea := -1, 0
	for i := range label {
		if label[i] != 1 {
			continue
		}
		if a := flood(i, 1, 4); a > bestArea {
			bestStart, bestArea = i, a
		}
	}
	if bestStart < 0 {
		return Quad{}, false
	}
	frac := float64(bestArea) / float64(n)
	if frac < minAreaFraction || frac > maxAreaFraction {
		return Quad{}, false
	}
	flood(bestStart, 4, 2)
	// Seed the outside with the frame's edge, counting where the page region touches it.
	touch := 0
	border := func(i int) {
		if label[i] == 2 {
			touch++
		} else {
			label[i] = 3
		}
	}
	for x := 0; x < s.w; x++ {
		border(x)
		border((s.h-1)*s.w + x)
	}
	for y := 1; y < s.h-1; y++ {
		border(y * s.w)
		border(y*s.w + s.w - 1)
	}
	if float64(touch) > maxBorderTouch*float64(2*(s.w+s.h)) {
		return Quad{}, false
	}
	markOutside(label, s.w, s.h)
	// Outer boundary: page pixels with an outside neighbour, in full-image coordinates.
	var edge []Point
	kf := float64(s.k)
	for y := 1; y < s.h-1; y++ {
		for x := 1; x < s.w-1; x++ {
			i := y*s.w + x
			if label[i] != 2 {
				continue
			}
			if label[i-1] == 3 || label[i+1] == 3 || label[i-s.w] == 3 || label[i+s.w] == 3 {
				edge = append(edge, Point{(float64(x) + 0.5) * kf, (float64(y) + 0.5) * kf})
			}
		}
	}
	hull := convexHull(edge)
	if len(hull) < 4 {
		return Quad{}, false
	}
	hullArea := polygonArea(hull)
	if hullArea <= 0 || float64(bestArea)*kf*kf < minFillOfHull*hullArea {
		return Quad{}, false
	}
	q := maxQuad(hull)
	if polygonArea(q[:]) < minQuadOfHull*hullArea {
		return Quad{}, false
	}
	q = order(q)
	q = refine(q, edge, 3*kf, kf/2)
	return q, true
}

// markOutside spreads the outside label (3) through every non-page pixel connected to it, whatever
// its brightness: dark desk and small light specks on the desk alike.
func markOutside(label []uint8, w, h int) {
	stack := make([]int32, 0, 1024)
	for i, l := range label {
		if l == 3 {
			stack = append(stack, int32(i))
		}
	}
	for len(stack) > 0 {
		i := int(stack[len(stack)-1])
		stack = stack[:len(stack)-1]
		x, y := i%w, i/w
		for _, j := range [4]int{i - 1, i + 1, i - w, i + w} {
			switch {
			case j == i-1 && x == 0, j == i+1 && x == w-1, j == i-w && y == 0, j == i+w && y == h-1:
				continue
			}
			if label[j] != 2 && label[j] != 3 {
				label[j] = 3
				stack = append(stack, int32(j))
			}
		}
	}
}

// convexHull returns the convex hull of pts (Andrew's monotone chain), without collinear points.
func convexHull(pts []Point) []Point {
	if len(pts) < 3 {
		return nil
	}
	p := append([]Point(nil), pts...)
	sort.Slice(p, func(i, j int) bool {
		if p[i].X != p[j].X {
			return p[i].X < p[j].X
		}
		return p[i].Y < p[j].Y
	})
	cross := func(o, a, b Point) float64 { return (a.X-o.X)*(b.Y-o.Y) - (a.Y-o.Y)*(b.X-o.X) }
	hull := make([]Point, 0, 2*len(p))
	for _, pt := range p {
		for len(hull) >= 2 && cross(hull[len(hull)-2], hull[len(hull)-1], pt) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, pt)
	}
	lower := len(hull) + 1
	for i := len(p) - 2; i >= 0; i-- {
		pt := p[i]
		for len(hull) >= lower && cross(hull[len(hull)-2], hull[len(hull)-1], pt) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, pt)
	}
	return hull[:len(hull)-1]
}

// polygonArea is the absolute shoelace area.
func polygonArea(p []Point) float64 {
	var a float64
	for i := range p {
		j := (i + 1) % len(p)
		a += p[i].X*p[j].Y - p[j].X*p[i].Y
	}
	return math.Abs(a) / 2
}

// maxQuad returns a quadrilateral of (locally) largest area with vertices on the hull: it starts from
// the hull's extreme points along the two diagonals and moves one vertex at a time to the hull
// point between its neighbours that enlarges the area most, until nothing improves.
func maxQuad(hull []Point) Quad {
	n := len(hull)
	var idx [4]int
	dirs := [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}}
	for d, dir := range dirs {
		best := math.Inf(-1)
		for i, p := range hull {
			if v := p.X*dir[0] + p.Y*dir[1]; v > best {
				best, idx[d] = v, i
			}
		}
	}
	// Keep the indices in hull order.
	sort.Ints(idx[:])
	area := func(ix [4]int) float64 {
		return polygonArea([]Point{hull[ix[0]], hull[ix[1]], hull[ix[2]], hull[ix[3]]})
	}
	cur := area(idx)
	for iter := 0; iter < 20; iter++ {
		improved := false
		for v := 0; v < 4; v++ {
			prev, next := idx[(v+3)%4], idx[(v+1)%4]
			for i := (prev + 1) % n; i != next; i = (i + 1) % n {
				try := idx
				try[v] = i
				if a := area(try); a > cur+1e-9 {
					cur, idx, improved = a, try, true
				}
			}
		}
		if !improved {
			break
		}
	}
	return Quad{hull[idx[0]], hull[idx[1]], hull[idx[2]], hull[idx[3]]}
}

// order puts four corners as top-left, top-right, bottom-right, bottom-left (clockwise on screen,
// starting from the corner nearest the top-left of the frame).
func order(q Quad) Quad {
	var cx, cy float64
	for _, p := range q {
		cx += p.X / 4
		cy += p.Y / 4
	}
	pts := q[:]
	sort.Slice(pts, func(i, j int) bool {
		return math.Atan2(pts[i].Y-cy, pts[i].X-cx) < math.Atan2(pts[j].Y-cy, pts[j].X-cx)
	})
	first := 0
	for i, p := range pts {
		if p.X+p.Y < pts[first].X+pts[first].Y {
			first = i
		}
	}
	var out Quad
	for i := range out {
		out[i] = pts[(first+i)%4]
	}
	return out
}

// landscape reports whether the outline is wider than tall.
func (q Quad) landscape() bool {
	w := dist(q[0], q[1]) + dist(q[3], q[2])
	h := dist(q[0], q[3]) + dist(q[1], q[2])
	return w > h
}

func dist(a, b Point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

// refine fits a straight line to the boundary points near each side of q (within tol of it, in the
// middle 80% of its length), moves each line outwards by shift (boundary pixel centres lie half a
// pixel inside the true edge) and returns the lines' intersections. A side without enough points
// keeps its original line.
func refine(q Quad, edge []Point, tol, shift float64) Quad {
	type line struct{ px, py, dx, dy float64 } // a point and a unit direction
	var lines [4]line
	var cx, cy float64
	for _, p := range q {
		cx += p.X / 4
		cy += p.Y / 4
	}
	for s := 0; s < 4; s++ {
		a, b := q[s], q[(s+1)%4]
		l := dist(a, b)
		dx, dy := (b.X-a.X)/l, (b.Y-a.Y)/l
		lines[s] = line{a.X, a.Y, dx, dy}
		var n, mx, my float64
		var pts []Point
		for _, p := range edge {
			along := (p.X-a.X)*dx + (p.Y-a.Y)*dy
			across := math.Abs(-(p.X-a.X)*dy + (p.Y-a.Y)*dx)
			if across <= tol && along > 0.1*l && along < 0.9*l {
				pts = append(pts, p)
				mx += p.X
				my += p.Y
				n++
			}
		}
		if n < 8 {
			continue
		}
		mx /= n
		my /= n
		var sxx, sxy, syy float64
		for _, p := range pts {
			ex, ey := p.X-mx, p.Y-my
			sxx += ex * ex
			sxy += ex * ey
			syy += ey * ey
		}
		// Principal direction of the scatter.
		theta := 0.5 * math.Atan2(2*sxy, sxx-syy)
		ldx, ldy := math.Cos(theta), math.Sin(theta)
		if ldx*dx+ldy*dy < 0 {
			ldx, ldy = -ldx, -ldy
		}
		// Move outwards, away from the quad's centre.
		nx, ny := -ldy, ldx
		if (mx-cx)*nx+(my-cy)*ny < 0 {
			nx, ny = -nx, -ny
		}
		lines[s] = line{mx + nx*shift, my + ny*shift, ldx, ldy}
	}
	out := q
	for c := 0; c < 4; c++ {
		// Corner c joins side c-1 (ending at c) and side c (starting at c).
		l1, l2 := lines[(c+3)%4], lines[c]
		den := l1.dx*l2.dy - l1.dy*l2.dx
		if math.Abs(den) < 1e-6 {
			continue
		}
		t := ((l2.px-l1.px)*l2.dy - (l2.py-l1.py)*l2.dx) / den
		p := Point{l1.px + t*l1.dx, l1.py + t*l1.dy}
		if dist(p, q[c]) < 4*tol {
			out[c] = p
		}
	}
	return out
}
