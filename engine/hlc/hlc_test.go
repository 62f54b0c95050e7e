package hlc

import (
	"errors"
	"testing"
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
			c.Observe(*s.observe)
		}
		got := c.Now()
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
	if got := c.Now(); got != (Timestamp{100, 3}) {
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
		if ts.String() != s {
			t.Fatalf("round trip %q -> %q", s, ts.String())
		}
	})
}
