// Package hlc is a hybrid logical clock: timestamps that follow wall time
// when the clock is sane, never go backwards, and move past every timestamp
// seen from another replica, so that "later" means "causally after or
// concurrent", never "this device's clock ran fast".
//
// A timestamp is written as the sync protocol wants it: 15 decimal digits of
// wall milliseconds, '-', 5 decimal digits of a logical counter. Fixed width
// means string order is time order.
//
// # Caveats
//
// The encoding ends at 999999999999999-99999. A clock never moves past
// that (Now fails instead of issuing an unparsable reading), and it never
// adopts a reading from another replica that is further ahead of its own
// wall clock than MaxAhead (Observe fails): one replica with a wrong clock
// must not drag every other towards the end of the range. A clock left
// more than MaxAhead ahead of its wall clock (the device's clock was set
// back) follows the wall clock again instead of staying ahead.
package hlc

import (
	"errors"
	"fmt"
	"time"
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

// DefaultMaxAhead is how far ahead of the local wall clock an observed
// reading may be. It is wider than the sync server's bound (which judges
// against a clock kept right) because a device's clock is often hours off
// (a wrong time zone), and refusing every change it receives would cut it
// off; a day still keeps far-future readings out.
const DefaultMaxAhead = 24 * time.Hour

var (
	// ErrBad is wrapped by Parse errors (and by Observe for a reading
	// outside the encoding's range).
	ErrBad = errors.New("hlc: malformed timestamp")
	// ErrAhead is wrapped by Observe errors for a reading further ahead of
	// the wall clock than the clock's bound; the clock is left unchanged.
	ErrAhead = errors.New("hlc: timestamp too far ahead of this device's clock")
	// ErrExhausted is wrapped by Now errors once the clock has reached the
	// last reading the encoding can hold.
	ErrExhausted = errors.New("hlc: clock at the end of its range")
)

// String renders the fixed-width form.
func (t Timestamp) String() string {
	return fmt.Sprintf("%015d-%05d", t.Wall, t.Logical)
}

// Valid reports whether t fits the fixed-width encoding (String of an
// invalid timestamp does not parse back).
func (t Timestamp) Valid() bool {
	return t.Wall >= 0 && t.Wall <= MaxWall && t.Logical >= 0 && t.Logical <= MaxLogical
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

// Parse reads the fixed-width form; anything else (a sign, a wider field
// such as the 16 digits of an overflowed clock) is an error.
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

// spillMargin (ms) keeps a clock that observed a reading right at its
// bound, and then spilt counters into later milliseconds, from counting as
// set back: that would take billions of readings per millisecond.
const spillMargin = 60_000

// Clock issues timestamps. It is not safe for concurrent use: its owner
// serializes calls (the engine calls it under the connection lock).
type Clock struct {
	wall     func() int64
	last     Timestamp
	maxAhead int64 // milliseconds; 0: no bound
}

// New returns a clock reading wall milliseconds from wall, starting after
// last (the newest timestamp this replica ever issued or saw, persisted by
// the caller so the clock never goes backwards across a restart). It
// observes readings up to DefaultMaxAhead ahead of wall.
func New(wall func() int64, last Timestamp) *Clock {
	return &Clock{wall: wall, last: last, maxAhead: DefaultMaxAhead.Milliseconds()}
}

// SetMaxAhead changes how far ahead of the wall clock an observed reading
// may be; zero or negative removes the bound.
func (c *Clock) SetMaxAhead(d time.Duration) {
	c.maxAhead = max(d.Milliseconds(), 0)
}

// MaxAhead is the bound of Observe; zero means none.
func (c *Clock) MaxAhead() time.Duration { return time.Duration(c.maxAhead) * time.Millisecond }

// Last is the newest timestamp issued or observed.
func (c *Clock) Last() Timestamp { return c.last }

// Now issues a timestamp greater than every earlier one from this clock and
// every one observed. It fails with ErrExhausted, issuing nothing, when the
// last reading is the greatest the encoding holds.
//
// One exception to "greater": when the last reading is further ahead of the
// wall clock than MaxAhead, the wall clock has been set back (it ran far
// ahead earlier) or the reading was adopted before readings were bounded.
// Staying ahead would stamp every later change with a time the sync server
// refuses, for as long as the gap lasts, so the clock follows the wall
// clock again.
func (c *Clock) Now() (Timestamp, error) {
	w := min(max(c.wall(), 0), MaxWall)
	if c.maxAhead > 0 && c.last.Wall-w > c.maxAhead+spillMargin {
		c.last = Timestamp{Wall: w}
		return c.last, nil
	}
	if w > c.last.Wall {
		c.last = Timestamp{Wall: w}
		return c.last, nil
	}
	next, ok := bump(c.last)
	if !ok {
		return Timestamp{}, fmt.Errorf("%w: the last reading is %s", ErrExhausted, c.last)
	}
	c.last = next
	return next, nil
}

// Observe moves the clock past a timestamp seen from another replica. A
// reading outside the encoding (ErrBad) or further ahead of the wall clock
// than MaxAhead (ErrAhead) is refused and the clock stays where it was.
func (c *Clock) Observe(t Timestamp) error {
	if !t.Valid() {
		return fmt.Errorf("%w: %d-%d is out of range", ErrBad, t.Wall, t.Logical)
	}
	if c.maxAhead > 0 {
		if w := max(c.wall(), 0); t.Wall > w && t.Wall-w > c.maxAhead {
			return fmt.Errorf("%w: %s is more than %s ahead of %s", ErrAhead, t, c.MaxAhead(), Timestamp{Wall: w})
		}
	}
	if t.Compare(c.last) > 0 {
		c.last = t
	}
	return nil
}

// bump is the next timestamp after t: the counter, or the next millisecond
// when the counter is spent; false when t is the last one there is.
func bump(t Timestamp) (Timestamp, bool) {
	switch {
	case t.Logical < MaxLogical:
		return Timestamp{Wall: t.Wall, Logical: t.Logical + 1}, true
	case t.Wall < MaxWall:
		return Timestamp{Wall: t.Wall + 1}, true
	}
	return t, false
}
