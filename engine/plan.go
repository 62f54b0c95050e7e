package engine

import (
	"bytes"
	"sort"

	"minibase/engine/keys"
	"minibase/engine/value"
)

// The planner picks one access path per query: the primary key, a unique
// index or a secondary index, read over one or more key ranges, or a full
// scan of the primary key. It uses equality (and `in`) on a prefix of the
// index columns, then one range condition on the next column. When the
// chosen path already yields rows in orderBy order, rows stream out and a
// limit stops the scan early; otherwise matching rows are sorted.
// The full where clause is always re-checked on every row, so an index only
// narrows what is read and can never change an answer.

type plan struct {
	t       *Table
	index   int // -1: primary key; otherwise position in t.Indexes
	kind    string
	ranges  []keyRange
	reverse bool
	ordered bool // rows come out in orderBy order
	filter  Expr
	// bound, when set, is a number condition on one column rows must meet
	// too, checked only where loadMatch decides a row inline: top-k's
	// cutoff, which the caller checks exactly anyway.
	bound   *Cond
	eqCols  int
	rangeOn string
}

type keyRange struct{ lo, hi []byte }

const maxInExpansion = 256

// conjuncts flattens the top-level ANDs into the conditions an index can use.
func conjuncts(e Expr, out []*Cond) []*Cond {
	switch e := e.(type) {
	case And:
		for _, x := range e {
			out = conjuncts(x, out)
		}
	case *Cond:
		out = append(out, e)
	}
	return out
}

type candidate struct {
	index  int
	cols   []int
	unique bool
}

func (t *Table) candidates() []candidate {
	if t.cands != nil {
		return t.cands
	}
	out := []candidate{}
	if len(t.pkPos) > 0 {
		out = append(out, candidate{index: -1, cols: t.pkPos, unique: true})
	}
	for i := range t.Indexes {
		out = append(out, candidate{index: i, cols: t.idxPos[i], unique: t.Indexes[i].Unique})
	}
	t.cands = out
	return out
}

func (t *Table) prefixOf(index int) []byte {
	if index < 0 {
		return t.primaryPrefix
	}
	return t.idxPrefix[index]
}

// planQuery chooses the access path for a bound where clause and order.
func planQuery(t *Table, where Expr, order []Order) (*plan, error) {
	conds := conjuncts(where, nil)
	if p := pointPlan(t, where, conds, order); p != nil {
		return p, nil
	}
	orderPos := make([]int, len(order))
	for i, o := range order {
		p, ok := t.colByName(o.Column)
		if !ok {
			return nil, errorf(CodeNoSuchColumn, "orderBy on %s: no column %q", t.Name, o.Column)
		}
		orderPos[i] = p
	}
	best := &plan{t: t, index: -1, kind: "scan", filter: where,
		ranges: []keyRange{{lo: t.primaryPrefix, hi: keys.PrefixEnd(t.primaryPrefix)}}}
	bestScore := 0
	for _, c := range t.candidates() {
		p, score := planCandidate(t, c, conds)
		if score > bestScore || (score == bestScore && score > 0 && c.index < 0) {
			best, bestScore = p, score
		}
	}
	best.filter = where
	// Does the chosen path give the requested order?
	if len(order) == 0 {
		best.ordered = true
		return best, nil
	}
	if ok, rev := givesOrder(t, best, orderPos, order); ok {
		best.ordered, best.reverse = true, rev
		return best, nil
	}
	if bestScore == 0 {
		// No index narrows the search: an index that gives the order saves the sort,
		// and with a limit it stops the scan early.
		for _, c := range t.candidates() {
			p := &plan{t: t, index: c.index, kind: "scan", filter: where,
				ranges: []keyRange{{lo: t.prefixOf(c.index), hi: keys.PrefixEnd(t.prefixOf(c.index))}}}
			if ok, rev := givesOrder(t, p, orderPos, order); ok {
				p.ordered, p.reverse = true, rev
				return p, nil
			}
		}
	}
	return best, nil
}

// pointPlan is the shortcut for the most common query of all, one equality
// on a single-column primary key or unique column ({ username: 'ann' }): the
// answer is one key, found without weighing every index.
func pointPlan(t *Table, where Expr, conds []*Cond, order []Order) *plan {
	if len(conds) != 1 || conds[0].Op != OpEq || len(order) > 0 {
		return nil
	}
	c := conds[0]
	for _, cand := range t.candidates() {
		if len(cand.cols) != 1 || cand.cols[0] != c.pos || !cand.unique {
			continue
		}
		pre := t.prefixOf(cand.index)
		k, err := keys.Append(append(make([]byte, 0, len(pre)+len(c.Value.Str())+12), pre...), c.Value)
		if err != nil {
			return nil
		}
		return &plan{t: t, index: cand.index, kind: "point", filter: where, eqCols: 1, ordered: true,
			ranges: []keyRange{{lo: k, hi: keys.PrefixEnd(k)}}}
	}
	return nil
}

// givesOrder reports whether reading plan p yields rows sorted by order:
// the order columns must follow the equality prefix of p's index, all in
// one direction (a reverse scan serves descending).
func givesOrder(t *Table, p *plan, orderPos []int, order []Order) (ok, reverse bool) {
	var cols []int
	if p.index < 0 {
		cols = t.pkPos
		if len(cols) == 0 {
			return false, false
		}
	} else {
		cols = t.idxPos[p.index]
	}
	if len(p.ranges) > 1 && p.eqCols > 0 {
		return false, false // several `in` ranges are each sorted, not all together
	}
	rest := cols[p.eqCols:]
	for i, pos := range orderPos {
		if order[i].Desc != order[0].Desc {
			return false, false
		}
		if i >= len(rest) {
			if p.index < 0 {
				break // the primary key is unique: later terms never break a tie
			}
			return false, false
		}
		if rest[i] != pos {
			return false, false
		}
	}
	return true, order[0].Desc
}

// planCandidate scores reading one index for the given conditions: 0 when
// it does not help, more for more equality columns, most for a point lookup.
func planCandidate(t *Table, c candidate, conds []*Cond) (*plan, int) {
	first := false
	for _, cd := range conds {
		first = first || cd.pos == c.cols[0]
	}
	if !first {
		return nil, 0
	}
	prefixes := [][]byte{append(make([]byte, 0, 32), t.prefixOf(c.index)...)}
	p := &plan{t: t, index: c.index}
	for _, pos := range c.cols {
		var vals []value.Value
		for _, cd := range conds {
			if cd.pos != pos {
				continue
			}
			if cd.Op == OpEq {
				vals = []value.Value{cd.Value}
				break
			}
			if cd.Op == OpIn && len(cd.Values)*len(prefixes) <= maxInExpansion && vals == nil {
				vals = cd.Values
			}
		}
		if vals == nil {
			break
		}
		next := make([][]byte, 0, len(prefixes)*len(vals))
		for _, pre := range prefixes {
			for _, v := range vals {
				k, err := keys.Append(append([]byte(nil), pre...), v)
				if err != nil {
					return nil, 0
				}
				next = append(next, k)
			}
		}
		prefixes = dedupSorted(next)
		p.eqCols++
	}
	score := p.eqCols * 10
	// One range condition on the next column narrows further.
	if p.eqCols < len(c.cols) {
		pos := c.cols[p.eqCols]
		var rcs []*Cond
		for _, cd := range conds {
			if cd.pos == pos && isRangeOp(cd.Op) {
				rcs = append(rcs, cd)
			}
		}
		if len(rcs) > 0 {
			score += 5
			p.rangeOn = t.Columns[pos].Name
			for _, pre := range prefixes {
				if r, ok := rangeFor(pre, rcs); ok {
					p.ranges = append(p.ranges, r)
				}
			}
			p.kind = "range"
			return p, score
		}
	}
	for _, pre := range prefixes {
		p.ranges = append(p.ranges, keyRange{lo: pre, hi: keys.PrefixEnd(pre)})
	}
	switch {
	case p.eqCols == len(c.cols) && c.unique:
		p.kind = "point"
		score = 1000
	case p.eqCols > 0:
		p.kind = "range"
	}
	return p, score
}

func isRangeOp(op Op) bool {
	switch op {
	case OpLt, OpLe, OpGt, OpGe, OpBetween, OpStartsWith:
		return true
	}
	return false
}

func dedupSorted(ks [][]byte) [][]byte {
	if len(ks) < 2 {
		return ks
	}
	sort.Slice(ks, func(i, j int) bool { return bytes.Compare(ks[i], ks[j]) < 0 })
	out := ks[:0]
	for i, k := range ks {
		if i == 0 || !bytes.Equal(k, ks[i-1]) {
			out = append(out, k)
		}
	}
	return out
}

// rangeFor intersects range conditions on the column after prefix pre.
func rangeFor(pre []byte, conds []*Cond) (keyRange, bool) {
	r := keyRange{lo: pre, hi: keys.PrefixEnd(pre)}
	raise := func(k []byte) {
		if bytes.Compare(k, r.lo) > 0 {
			r.lo = k
		}
	}
	lower := func(k []byte) {
		if r.hi == nil || bytes.Compare(k, r.hi) < 0 {
			r.hi = k
		}
	}
	enc := func(v value.Value) []byte {
		k, _ := keys.Append(append([]byte(nil), pre...), v)
		return k
	}
	// Values of other kinds never satisfy a range: keep to v's kind.
	kindOnly := func(v value.Value) {
		k := enc(v)
		tag := k[len(pre)]
		raise(append(append([]byte(nil), pre...), tag))
		lower(append(append([]byte(nil), pre...), tag+1))
	}
	for _, c := range conds {
		switch c.Op {
		case OpGe:
			kindOnly(c.Value)
			raise(enc(c.Value))
		case OpGt:
			kindOnly(c.Value)
			raise(keys.PrefixEnd(enc(c.Value)))
		case OpLe:
			kindOnly(c.Value)
			lower(keys.PrefixEnd(enc(c.Value)))
		case OpLt:
			kindOnly(c.Value)
			lower(enc(c.Value))
		case OpBetween:
			kindOnly(c.Values[0])
			raise(enc(c.Values[0]))
			lower(keys.PrefixEnd(enc(c.Values[1])))
		case OpStartsWith:
			k := keys.AppendString(append([]byte(nil), pre...), c.Value.Str())
			k = k[:len(k)-2] // drop the terminator: every string with this prefix follows
			raise(k)
			lower(keys.PrefixEnd(k))
		}
	}
	if r.hi != nil && bytes.Compare(r.lo, r.hi) >= 0 {
		return r, false
	}
	return r, true
}

// explain describes the plan for tests and for people.
func (p *plan) explain(sorts bool) value.Value {
	idx := value.StringOf("primary")
	if p.index >= 0 {
		idx = value.StringOf(p.t.Indexes[p.index].Name)
	} else if p.kind == "scan" && len(p.t.pkPos) == 0 {
		idx = value.StringOf("rowid")
	}
	m := []value.Member{
		mem("table", str(p.t.Name)),
		mem("kind", str(p.kind)),
		mem("index", idx),
		mem("ranges", num(uint64(len(p.ranges)))),
		mem("ordered", value.BoolOf(p.ordered)),
		mem("sort", value.BoolOf(sorts)),
		mem("reverse", value.BoolOf(p.reverse)),
	}
	if p.eqCols > 0 {
		m = append(m, mem("equalityColumns", num(uint64(p.eqCols))))
	}
	if p.rangeOn != "" {
		m = append(m, mem("rangeColumn", str(p.rangeOn)))
	}
	return value.ObjectOf(m...)
}
