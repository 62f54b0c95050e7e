package hlc

import (
	"errors"
	"testing"
	"time"
)

func TestParseRoundTrip(t *testing.T) {
	cases := []struct {
		in   string
		want Timestamp
		bad  bool
	}{
		{in: "001732370000000-00000", want: Timestamp{Wall: 1732370000000}},
		{in: "999999999999999-99999", want: Timestamp{Wall: MaxWall, Logical: MaxLogical}},
		{in: "000000000000000-00007", want: Timestamp{Logical: 7}},
		{in: "", bad: true},
		{in: "001732370000000_00000", bad: true},
		{in: "00173237000000a-00000", bad: true},
		{in: "1732370000000-00000", bad: true},
		{in: "001732370000000-000001", bad: true},
		{in: "-01732370000000-0000", bad: true},
		{in: "1000000000000000-00000", bad: true}, // the next reading after the maximum, as an overflowed clock wrote it
		{in: "999999999999999-100000", bad: true},
		{in: "+99999999999999-00000", bad: true},
		{in: "99999999999999 -00000", bad: true},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if c.bad {
			if !errors.Is(err, ErrBad) {
				t.Errorf("Parse(%q) = %v, %v; want ErrBad", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		if got.String() != c.in {
			t.Errorf("String() = %q, want %q", got.String(), c.in)
		}
	}
}

func TestStringOrderIsTimeOrder(t *testing.T) {
	ts := []Timestamp{{0, 0}, {0, 1}, {0, 99999}, {1, 0}, {9, 5}, {10, 0}, {1732370000000, 12}, {MaxWall, MaxLogical}}
	for i := range ts {
		for j := range ts {
			byStr := 0
			if a, b := ts[i].String(), ts[j].String(); a < b {
				byStr = -1
			} else if a > b {
				byStr = 1
			}
			if byStr != ts[i].Compare(ts[j]) {
				t.Errorf("%v vs %v: string order %d, Compare %d", ts[i], ts[j], byStr, ts[i].Compare(ts[j]))
			}
		}
	}
}

func TestClock(t *testing.T) {
	wall := int64(1000)
	c := New(func() int64 { return wall }, Timestamp{})
	steps := []struct {
		name    string
		wall    int64
		observe *Timestamp
		want    Timestamp
	}{
		{name: "first reading follows wall", wall: 1000, want: Timestamp{1000, 0}},
		{name: "same ms bumps counter", wall: 1000, want: Timestamp{1000, 1}},
		{name: "wall moves on", wall: 1005, want: Timestamp{1005, 0}},
		{name: "wall goes back: never backwards", wall: 900, want: Timestamp{1005, 1}},
		{name: "remote ahead is overtaken", wall: 1006, observe: &Timestamp{5000, 3}, want: Timestamp{5000, 4}},
		{name: "remote behind is ignored", wall: 1007, observe: &Timestamp{10, 0}, want: Timestamp{5000, 5}},
		{name: "counter exhausted spills into the next ms", wall: 1, observe: &Timestamp{6000, MaxLogical}, want: Timestamp{6001, 0}},
	}
	prev := Timestamp{}
	for _, s := range steps {
		wall = s.wall
		if s.observe != nil {
			if err := c.Observe(*s.observe); err != nil {
				t.Fatalf("%s: Observe: %v", s.name, err)
			}
		}
		got, err := c.Now()
		if err != nil {
			t.Fatalf("%s: Now: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s: Now() = %v, want %v", s.name, got, s.want)
		}
		if got.Compare(prev) <= 0 {
			t.Errorf("%s: %v not after %v", s.name, got, prev)
		}
		prev = got
	}
}

func TestClockResumesAfterRestart(t *testing.T) {
	// A clock restarted from its persisted last reading on a device whose
	// wall clock was set back still issues later timestamps.
	c := New(func() int64 { return 50 }, Timestamp{Wall: 100, Logical: 2})
	if got, err := c.Now(); err != nil || got != (Timestamp{100, 3}) {
		t.Fatalf("Now() = %v, want 000000000000100-00003", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("001732370000000-00000")
	f.Add("999999999999999-99999")
	f.Add("x")
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := Parse(s)
		if err != nil {
			return
		}
		if !ts.Valid() {
			t.Fatalf("Parse(%q) = %v, outside the encoding", s, ts)
		}
		if ts.String() != s {
			t.Fatalf("round trip %q -> %q", s, ts.String())
		}
	})
}

// TestClockNeverPassesItsMaximum: at the last reading the encoding holds,
// Now fails instead of issuing a 16-digit reading that nothing can parse
// (which a restart would then report as a corrupt clock).
func TestClockNeverPassesItsMaximum(t *testing.T) {
	cases := []struct {
		name string
		wall int64
		last Timestamp
		ok   int // readings issued before the clock is exhausted
	}{
		{name: "counter spent at the last millisecond", wall: 5, last: Timestamp{MaxWall, MaxLogical - 2}, ok: 2},
		{name: "already at the end", wall: 5, last: Timestamp{MaxWall, MaxLogical}},
		{name: "wall clock past the end", wall: MaxWall + 10, last: Timestamp{MaxWall, MaxLogical - 1}, ok: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := New(func() int64 { return c.wall }, c.last)
			clk.SetMaxAhead(0) // else a clock this far ahead of its wall clock would follow the wall clock again
			for i := range c.ok {
				got, err := clk.Now()
				if err != nil {
					t.Fatalf("reading %d: %v", i, err)
				}
				if _, err := Parse(got.String()); err != nil {
					t.Fatalf("reading %d does not parse: %v", i, err)
				}
			}
			before := clk.Last()
			for range 3 {
				if got, err := clk.Now(); !errors.Is(err, ErrExhausted) {
					t.Fatalf("Now() = %v, %v; want ErrExhausted", got, err)
				}
			}
			if clk.Last() != before || !clk.Last().Valid() {
				t.Fatalf("Last() = %v, want %v", clk.Last(), before)
			}
		})
	}
}

// TestObserveRefusesFarFuture: a reading too far ahead of the wall clock
// is refused and the clock keeps following the wall clock, so one bad
// reading cannot exhaust it.
func TestObserveRefusesFarFuture(t *testing.T) {
	const wall = 1_700_000_000_000
	cases := []struct {
		name     string
		maxAhead time.Duration // 0: the default
		observe  Timestamp
		err      error
	}{
		{name: "the maximum reading", observe: Timestamp{MaxWall, MaxLogical}, err: ErrAhead},
		{name: "a year ahead", observe: Timestamp{wall + 365*24*3600_000, 0}, err: ErrAhead},
		{name: "an hour ahead is within a day", observe: Timestamp{wall + 3600_000, 0}},
		{name: "an hour ahead, bound five minutes", maxAhead: 5 * time.Minute, observe: Timestamp{wall + 3600_000, 0}, err: ErrAhead},
		{name: "at the bound", maxAhead: 5 * time.Minute, observe: Timestamp{wall + 300_000, MaxLogical}},
		{name: "no bound", maxAhead: -1, observe: Timestamp{MaxWall, 0}},
		{name: "outside the encoding", maxAhead: -1, observe: Timestamp{MaxWall + 1, 0}, err: ErrBad},
		{name: "negative counter", observe: Timestamp{wall, -1}, err: ErrBad},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := New(func() int64 { return wall }, Timestamp{Wall: wall - 10})
			if c.maxAhead != 0 {
				clk.SetMaxAhead(c.maxAhead)
			}
			err := clk.Observe(c.observe)
			if c.err == nil {
				if err != nil || clk.Last() != c.observe {
					t.Fatalf("Observe: %v, Last() = %v; want %v", err, clk.Last(), c.observe)
				}
				return
			}
			if !errors.Is(err, c.err) {
				t.Fatalf("Observe(%v) = %v, want %v", c.observe, err, c.err)
			}
			if got, err := clk.Now(); err != nil || got != (Timestamp{Wall: wall}) {
				t.Fatalf("after a refused reading Now() = %v, %v; want the wall clock", got, err)
			}
		})
	}
}

// FuzzClock drives a clock with arbitrary wall readings and observations:
// every reading it issues parses back and is later than the one before.
func FuzzClock(f *testing.F) {
	f.Add(int64(1000), int64(5000), int32(3), int64(0))
	f.Add(int64(MaxWall), int64(MaxWall), int32(MaxLogical), int64(-1))
	f.Add(int64(-5), int64(MaxWall+1), int32(-1), int64(60_000))
	f.Fuzz(func(t *testing.T, wall, obsWall int64, obsLogical int32, maxAhead int64) {
		clk := New(func() int64 { return wall }, Timestamp{})
		clk.SetMaxAhead(time.Duration(maxAhead) * time.Millisecond)
		prev := Timestamp{}
		for i := range 4 {
			if i == 2 {
				_ = clk.Observe(Timestamp{obsWall, obsLogical})
				if !clk.Last().Valid() {
					t.Fatalf("observed into an invalid state: %v", clk.Last())
				}
			}
			got, err := clk.Now()
			if errors.Is(err, ErrExhausted) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if p, err := Parse(got.String()); err != nil || p != got {
				t.Fatalf("reading %v does not round trip: %v", got, err)
			}
			if got.Compare(prev) <= 0 {
				t.Fatalf("%v not after %v", got, prev)
			}
			prev = got
		}
	})
}

// TestClockFollowsWallClockSetBack: a clock left more than MaxAhead ahead
// of its wall clock (the device's clock ran a year ahead and was then set
// right, or an old build adopted a far-future reading) issues wall-clock
// readings again instead of stamping every change with a time the server
// refuses; within the bound it never goes backwards.
func TestClockFollowsWallClockSetBack(t *testing.T) {
	const wall = 1_700_000_000_000
	cases := []struct {
		name string
		last Timestamp
		want Timestamp
	}{
		{name: "a year ahead", last: Timestamp{wall + 365*24*3600_000, 7}, want: Timestamp{Wall: wall}},
		{name: "at the end of the range", last: Timestamp{MaxWall, MaxLogical}, want: Timestamp{Wall: wall}},
		{name: "an hour ahead: never backwards", last: Timestamp{wall + 3600_000, 7}, want: Timestamp{wall + 3600_000, 8}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := New(func() int64 { return wall }, c.last)
			got, err := clk.Now()
			if err != nil || got != c.want {
				t.Fatalf("Now() = %v, %v; want %v", got, err, c.want)
			}
			next, err := clk.Now()
			if err != nil || next.Compare(got) <= 0 {
				t.Fatalf("then Now() = %v, %v; want after %v", next, err, got)
			}
		})
	}
}
