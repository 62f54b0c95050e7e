// Package hlc is a hybrid logical clock: timestamps that follow wall time
// when the clock is sane, never go backwards, and move past every timestamp
// seen from another replica, so that "later" means "causally after or
// concurrent", never "this device's clock ran fast".
//
// A timestamp is written as the sync protocol wants it: 15 decimal digits of
// wall milliseconds, '-', 5 decimal digits of a logical counter. Fixed width
// means string order is time order.
package hlc

import (
	"errors"
	"fmt"
)

// Timestamp is one clock reading.
type Timestamp struct {
	Wall    int64 // milliseconds since the Unix epoch
	Logical int32 // counter among readings within one millisecond
}

// Bounds of the fixed-width encoding.
const (
	MaxWall    = 999_999_999_999_999
	MaxLogical = 99_999
)

// ErrBad is wrapped by Parse errors.
var ErrBad = errors.New("hlc: malformed timestamp")

// String renders the fixed-width form.
func (t Timestamp) String() string {
	return fmt.Sprintf("%015d-%05d", t.Wall, t.Logical)
}

// IsZero reports whether t is the zero timestamp (no reading yet).
func (t Timestamp) IsZero() bool { return t == Timestamp{} }

// Compare orders timestamps: -1, 0 or +1.
func (t Timestamp) Compare(u Timestamp) int {
	switch {
	case t.Wall < u.Wall:
		return -1
	case t.Wall > u.Wall:
		return 1
	case t.Logical < u.Logical:
		return -1
	case t.Logical > u.Logical:
		return 1
	}
	return 0
}

// Parse reads the fixed-width form; anything else is an error.
func Parse(s string) (Timestamp, error) {
	if len(s) != 21 || s[15] != '-' {
		return Timestamp{}, fmt.Errorf("%w: %q", ErrBad, s)
	}
	var t Timestamp
	for i, c := range []byte(s) {
		if i == 15 {
			continue
		}
		if c < '0' || c > '9' {
			return Timestamp{}, fmt.Errorf("%w: %q", ErrBad, s)
		}
		if i < 15 {
			t.Wall = t.Wall*10 + int64(c-'0')
		} else {
			t.Logical = t.Logical*10 + int32(c-'0')
		}
	}
	return t, nil
}

// Clock issues timestamps. It is not safe for concurrent use: its owner
// serializes calls (the engine calls it under the connection lock).
type Clock struct {
	wall func() int64
	last Timestamp
}

// New returns a clock reading wall milliseconds from wall, starting after
// last (the newest timestamp this replica ever issued or saw, persisted by
// the caller so the clock never goes backwards across a restart).
func New(wall func() int64, last Timestamp) *Clock {
	return &Clock{wall: wall, last: last}
}

// Last is the newest timestamp issued or observed.
func (c *Clock) Last() Timestamp { return c.last }

// Now issues a timestamp greater than every earlier one from this clock and
// every one observed.
func (c *Clock) Now() Timestamp {
	w := min(max(c.wall(), 0), MaxWall)
	if w > c.last.Wall {
		c.last = Timestamp{Wall: w}
	} else {
		c.last = bump(c.last)
	}
	return c.last
}

// Observe moves the clock past a timestamp seen from another replica.
func (c *Clock) Observe(t Timestamp) {
	if t.Compare(c.last) > 0 {
		c.last = t
	}
}

// bump is the next timestamp after t: the counter, or the next millisecond
// when the counter is spent.
func bump(t Timestamp) Timestamp {
	if t.Logical < MaxLogical {
		return Timestamp{Wall: t.Wall, Logical: t.Logical + 1}
	}
	return Timestamp{Wall: t.Wall + 1}
}
