package engine

import (
	"slices"
	"strings"
	"unicode/utf8"

	"minibase/engine/value"
)

// Query is a parsed select/count/update/delete request.
type Query struct {
	Where   Expr     // nil matches every row
	OrderBy []Order  // empty: primary key order
	Limit   int      // -1: no limit
	Offset  int      //
	Columns []string // empty: all columns
}

// Order is one orderBy term.
type Order struct {
	Column string
	Desc   bool
}

// Expr is a where clause: an And, an Or, or a Cond.
type Expr interface{ isExpr() }

// And matches when every term matches.
type And []Expr

// Or matches when any term matches.
type Or []Expr

// Cond compares one column with a value.
type Cond struct {
	Column string
	Op     Op
	Value  value.Value   // =, !=, <, <=, >, >=, like, startsWith
	Values []value.Value // in, notIn, between (two: low, high)
	pos    int           // column position, resolved by bind
	like   *likeMatcher
	num    numCmp  // a comparison with one number, else 0: see matchesNumber
	numVal float64 // that number
}

// numCmp is a comparison with a number, decided per row of a scan by
// matchesNumber: an integer switch where Op is a string compared per row.
type numCmp uint8

// The comparisons with a number.
const (
	numNone numCmp = iota
	numEq
	numNe
	numLt
	numLe
	numGt
	numGe
)

// numberCond returns a condition of op on column pos against the number x.
func numberCond(column string, pos int, op Op, x float64) Cond {
	c := Cond{Column: column, Op: op, Value: value.NumberOf(x), pos: pos}
	c.setNum()
	return c
}

// numCmps are the operators a number comparison decides by numCmp.
var numCmps = map[Op]numCmp{OpEq: numEq, OpNe: numNe, OpLt: numLt, OpLe: numLe, OpGt: numGt, OpGe: numGe}

// setNum sets num and numVal from Op and Value.
func (c *Cond) setNum() {
	c.num, c.numVal = numNone, 0
	if k, ok := numCmps[c.Op]; ok && c.Value.Kind() == value.Number {
		c.num, c.numVal = k, c.Value.Number()
	}
}

func (And) isExpr()   {}
func (Or) isExpr()    {}
func (*Cond) isExpr() {}

// Op is a comparison operator.
type Op string

// The operators.
const (
	OpEq         Op = "="
	OpNe         Op = "!="
	OpLt         Op = "<"
	OpLe         Op = "<="
	OpGt         Op = ">"
	OpGe         Op = ">="
	OpIn         Op = "in"
	OpNotIn      Op = "notIn"
	OpBetween    Op = "between"
	OpLike       Op = "like"
	OpStartsWith Op = "startsWith"
	OpIsNull     Op = "isNull"
	OpIsNotNull  Op = "isNotNull"
)

var opAliases = map[string]Op{
	"=": OpEq, "==": OpEq, "===": OpEq, "eq": OpEq, "$eq": OpEq,
	"!=": OpNe, "!==": OpNe, "<>": OpNe, "ne": OpNe, "$ne": OpNe,
	"<": OpLt, "lt": OpLt, "$lt": OpLt, "<=": OpLe, "lte": OpLe, "$lte": OpLe,
	">": OpGt, "gt": OpGt, "$gt": OpGt, ">=": OpGe, "gte": OpGe, "$gte": OpGe,
	"in": OpIn, "$in": OpIn, "notIn": OpNotIn, "nin": OpNotIn, "$nin": OpNotIn, "not in": OpNotIn,
	"between": OpBetween, "like": OpLike, "startsWith": OpStartsWith,
	"isNull": OpIsNull, "isNotNull": OpIsNotNull,
}

func badQuery(format string, args ...any) error { return errorf(CodeBadQuery, format, args...) }

// ParseQuery reads a query in any of the accepted shapes:
// { where, orderBy, limit, offset, columns }, where `where` is an object or
// the older array [{ name, type, value }], `limit` a number or
// { start, count }, `orderBy` "col", ["a", "b"] or [{ name, type: "desc" }].
func ParseQuery(v value.Value) (Query, error) {
	q := Query{Limit: -1}
	if v.IsNull() {
		return q, nil
	}
	if v.Kind() == value.Array { // a bare where in the older shape
		w, err := parseWhere(v, 0)
		q.Where = w
		return q, err
	}
	if v.Kind() != value.Object {
		return q, badQuery("a query must be an object, got %s", v.Kind())
	}
	for i := 0; i < v.Len(); i++ {
		k, f := v.KeyAt(i), v.Index(i)
		var err error
		switch k {
		case "where":
			q.Where, err = parseWhere(f, 0)
		case "orderBy", "order":
			q.OrderBy, err = parseOrderBy(f)
		case "limit":
			err = parseLimit(f, &q)
		case "offset", "skip":
			q.Offset, err = wantCount("offset", f)
		case "columns", "select", "fields":
			if !f.IsNull() {
				q.Columns, err = wantNames("query", k, f)
			}
		default:
			err = badQuery("unknown query option %q (use where, orderBy, limit, offset, columns)", k)
		}
		if err != nil {
			return q, err
		}
	}
	return q, nil
}

// EqualityQuery is the query { where: { col: v } }.
func EqualityQuery(col string, v value.Value) (Query, error) {
	c, err := newCond(col, "=", v)
	if err != nil {
		return Query{}, err
	}
	return Query{Where: And{c}, Limit: -1}, nil
}

func wantCount(what string, v value.Value) (int, error) {
	if v.IsNull() {
		return 0, nil
	}
	if !v.IsInteger() || v.Number() < 0 || v.Number() > 1<<31 {
		return 0, badQuery("%s must be a non-negative integer, got %s", what, v)
	}
	return int(v.Number()), nil
}

func parseLimit(v value.Value, q *Query) error {
	switch v.Kind() {
	case value.Null:
		return nil
	case value.Object:
		for i := 0; i < v.Len(); i++ {
			var err error
			switch v.KeyAt(i) {
			case "start", "offset":
				q.Offset, err = wantCount("limit.start", v.Index(i))
			case "count", "limit":
				q.Limit, err = wantCount("limit.count", v.Index(i))
			default:
				err = badQuery("unknown limit option %q (use start and count)", v.KeyAt(i))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	n, err := wantCount("limit", v)
	q.Limit = n
	return err
}

func parseOrderBy(v value.Value) ([]Order, error) {
	switch v.Kind() {
	case value.Null:
		return nil, nil
	case value.String:
		return []Order{{Column: v.Str()}}, nil
	case value.Object:
		return parseOrderTerm(v)
	case value.Array:
		var out []Order
		for _, it := range v.Items() {
			terms, err := parseOrderBy(it)
			if err != nil {
				return nil, err
			}
			out = append(out, terms...)
		}
		return out, nil
	}
	return nil, badQuery("orderBy must be a column name, an object or an array, got %s", v.Kind())
}

// parseOrderTerm reads { name, type: 'asc'|'desc' } or { col: 'desc' }.
func parseOrderTerm(v value.Value) ([]Order, error) {
	if n, ok := v.Get("name"); ok {
		o := Order{}
		if n.Kind() != value.String {
			return nil, badQuery("orderBy name must be a string")
		}
		o.Column = n.Str()
		for i := 0; i < v.Len(); i++ {
			switch v.KeyAt(i) {
			case "name":
			case "type", "order", "direction":
				d, err := parseDirection(v.Index(i))
				if err != nil {
					return nil, err
				}
				o.Desc = d
			default:
				return nil, badQuery("unknown orderBy option %q", v.KeyAt(i))
			}
		}
		return []Order{o}, nil
	}
	out := make([]Order, 0, v.Len())
	for i := 0; i < v.Len(); i++ {
		d, err := parseDirection(v.Index(i))
		if err != nil {
			return nil, err
		}
		out = append(out, Order{Column: v.KeyAt(i), Desc: d})
	}
	return out, nil
}

func parseDirection(v value.Value) (bool, error) {
	if v.Kind() == value.Number && (v.Number() == 1 || v.Number() == -1) {
		return v.Number() < 0, nil
	}
	if v.Kind() == value.String {
		switch strings.ToLower(v.Str()) {
		case "asc", "ascending":
			return false, nil
		case "desc", "descending":
			return true, nil
		}
	}
	return false, badQuery("order direction must be 'asc' or 'desc', got %s", v)
}

const maxWhereDepth = 32

// parseWhere reads an object where (AND of its members, $or/$and groups) or
// the older array shape [{ name, type, value }].
func parseWhere(v value.Value, depth int) (Expr, error) {
	if depth > maxWhereDepth {
		return nil, badQuery("where is nested more than %d levels", maxWhereDepth)
	}
	switch v.Kind() {
	case value.Null:
		return nil, nil
	case value.Array:
		var and And
		for i, it := range v.Items() {
			if it.Kind() != value.Object {
				return nil, badQuery("where[%d] must be an object", i)
			}
			e, err := parseWhereItem(it, depth)
			if err != nil {
				return nil, err
			}
			and = append(and, e)
		}
		return and, nil
	case value.Object:
		var and And
		for i := 0; i < v.Len(); i++ {
			k, f := v.KeyAt(i), v.Index(i)
			switch k {
			case "$or", "$and":
				if f.Kind() != value.Array || f.Len() == 0 {
					return nil, badQuery("%s must be a non-empty array of conditions", k)
				}
				var group []Expr
				for _, it := range f.Items() {
					e, err := parseWhere(it, depth+1)
					if err != nil {
						return nil, err
					}
					group = append(group, e)
				}
				if k == "$or" {
					and = append(and, Or(group))
				} else {
					and = append(and, And(group))
				}
			default:
				if strings.HasPrefix(k, "$") {
					return nil, badQuery("unknown where operator %q (use $or or $and)", k)
				}
				conds, err := parseColumnCond(k, f)
				if err != nil {
					return nil, err
				}
				and = append(and, conds...)
			}
		}
		return and, nil
	}
	return nil, badQuery("where must be an object or an array, got %s", v.Kind())
}

// parseWhereItem reads one element of the older array shape.
func parseWhereItem(v value.Value, depth int) (Expr, error) {
	if _, ok := v.Get("name"); !ok {
		return parseWhere(v, depth+1) // an object-shaped group inside the array
	}
	var name, op string
	var val value.Value
	for i := 0; i < v.Len(); i++ {
		switch v.KeyAt(i) {
		case "name":
			if v.Index(i).Kind() != value.String {
				return nil, badQuery("where: name must be a string")
			}
			name = v.Index(i).Str()
		case "type", "op", "operator":
			if v.Index(i).Kind() != value.String {
				return nil, badQuery("where: type must be an operator string")
			}
			op = v.Index(i).Str()
		case "value":
			val = v.Index(i)
		default:
			return nil, badQuery("where: unknown field %q (use name, type, value)", v.KeyAt(i))
		}
	}
	if op == "" {
		op = "="
	}
	return newCond(name, op, val)
}

// parseColumnCond reads `col: value` (equality, or isNull for null) or
// `col: { op: value, ... }` (every operator must hold).
func parseColumnCond(col string, v value.Value) ([]Expr, error) {
	if v.Kind() != value.Object {
		c, err := newCond(col, "=", v)
		return []Expr{c}, err
	}
	var out []Expr
	for i := 0; i < v.Len(); i++ {
		c, err := newCond(col, v.KeyAt(i), v.Index(i))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, badQuery("where %s: empty condition object", col)
	}
	return out, nil
}

func newCond(col, opName string, v value.Value) (*Cond, error) {
	op, ok := opAliases[opName]
	if !ok {
		return nil, badQuery("where %s: unknown operator %q", col, opName)
	}
	c := &Cond{Column: col, Op: op, Value: v}
	switch op {
	case OpEq, OpNe:
		if v.IsNull() {
			c.Op = OpIsNull
			if op == OpNe {
				c.Op = OpIsNotNull
			}
		}
		if v.Kind() == value.Array || v.Kind() == value.Object {
			return nil, badQuery("where %s %s: cannot compare with an %s", col, op, v.Kind())
		}
	case OpLt, OpLe, OpGt, OpGe:
		if v.Kind() != value.Number && v.Kind() != value.String && v.Kind() != value.Bool && v.Kind() != value.Bytes {
			return nil, badQuery("where %s %s: needs a number, string, boolean or bytes, got %s", col, op, v)
		}
	case OpIn, OpNotIn:
		if v.Kind() != value.Array {
			return nil, badQuery("where %s %s: needs an array, got %s", col, op, v)
		}
		c.Values = v.Items()
		for _, it := range c.Values {
			if it.Kind() == value.Array || it.Kind() == value.Object {
				return nil, badQuery("where %s %s: list items must be scalars", col, op)
			}
		}
	case OpBetween:
		if v.Kind() != value.Array || v.Len() != 2 {
			return nil, badQuery("where %s between: needs [low, high]", col)
		}
		c.Values = v.Items()
		for _, it := range c.Values {
			if it.Kind() != value.Number && it.Kind() != value.String {
				return nil, badQuery("where %s between: bounds must be numbers or strings", col)
			}
		}
	case OpLike, OpStartsWith:
		if v.Kind() != value.String {
			return nil, badQuery("where %s %s: needs a string pattern, got %s", col, op, v)
		}
		if op == OpLike {
			l, err := compileLike(v.Str())
			if err != nil {
				return nil, err
			}
			c.like = l
		}
	case OpIsNull, OpIsNotNull:
		// the value is ignored: { isNull: true } reads naturally
		if v.Kind() == value.Bool && !v.Bool() {
			if op == OpIsNull {
				c.Op = OpIsNotNull
			} else {
				c.Op = OpIsNull
			}
		}
	}
	return c, nil
}

// bind resolves column names against the table, checks value kinds against
// typed columns, and returns a copy with positions filled in.
func bind(t *Table, e Expr) (Expr, error) {
	switch e := e.(type) {
	case nil:
		return nil, nil
	case And:
		out, err := bindAll(t, e)
		return And(out), err
	case Or:
		out, err := bindAll(t, e)
		return Or(out), err
	case *Cond:
		p, ok := t.colByName(e.Column)
		if !ok {
			return nil, errorf(CodeNoSuchColumn, "where on %s: no column %q", t.Name, e.Column)
		}
		c := *e
		c.pos = p
		c.setNum()
		typ := t.Columns[p].Type
		check := func(v value.Value) error {
			if v.IsNull() || typ == TypeAny || typ == TypeObject || typ.fits(v) {
				return nil
			}
			return errorf(CodeTypeMismatch, "where %s.%s %s %s: column is %s", t.Name, e.Column, e.Op, v, typ)
		}
		switch c.Op {
		case OpIn, OpNotIn, OpBetween:
			for _, v := range c.Values {
				if err := check(v); err != nil {
					return nil, err
				}
			}
		case OpLike, OpStartsWith:
			if typ != TypeString && typ != TypeAny {
				return nil, errorf(CodeTypeMismatch, "where %s.%s %s: column is %s, not string", t.Name, e.Column, e.Op, typ)
			}
		case OpIsNull, OpIsNotNull:
		default:
			if err := check(c.Value); err != nil {
				return nil, err
			}
		}
		return &c, nil
	}
	return nil, badQuery("bad where expression")
}

func bindAll(t *Table, es []Expr) ([]Expr, error) {
	out := make([]Expr, len(es))
	for i, x := range es {
		b, err := bind(t, x)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// match evaluates a bound expression against a row.
func match(e Expr, r row) bool {
	switch e := e.(type) {
	case nil:
		return true
	case And:
		for _, x := range e {
			if !match(x, r) {
				return false
			}
		}
		return true
	case Or:
		for _, x := range e {
			if match(x, r) {
				return true
			}
		}
		return false
	case *Cond:
		return e.matches(r[e.pos])
	}
	return false
}

// comparable reports whether a range comparison between a and b means
// anything: only values of one kind are ordered against each other, and null
// is never inside a range.
func comparable(a, b value.Value) bool { return a.Kind() == b.Kind() && !a.IsNull() }

func (c *Cond) matches(v value.Value) bool {
	switch c.Op {
	case OpEq:
		return value.Equal(v, c.Value)
	case OpNe:
		return !value.Equal(v, c.Value)
	case OpLt:
		return comparable(v, c.Value) && value.Compare(v, c.Value) < 0
	case OpLe:
		return comparable(v, c.Value) && value.Compare(v, c.Value) <= 0
	case OpGt:
		return comparable(v, c.Value) && value.Compare(v, c.Value) > 0
	case OpGe:
		return comparable(v, c.Value) && value.Compare(v, c.Value) >= 0
	case OpIn, OpNotIn:
		in := false
		for _, x := range c.Values {
			if value.Equal(v, x) {
				in = true
				break
			}
		}
		return in == (c.Op == OpIn)
	case OpBetween:
		lo, hi := c.Values[0], c.Values[1]
		return comparable(v, lo) && comparable(v, hi) && value.Compare(v, lo) >= 0 && value.Compare(v, hi) <= 0
	case OpLike:
		return v.Kind() == value.String && c.like.match(v.Str())
	case OpStartsWith:
		return v.Kind() == value.String && strings.HasPrefix(v.Str(), c.Value.Str())
	case OpIsNull:
		return v.IsNull()
	case OpIsNotNull:
		return !v.IsNull()
	}
	return false
}

// matchesNumber is matches for a number value x, when c.num is set.
func (c *Cond) matchesNumber(x float64) bool {
	y := c.numVal
	switch c.num {
	case numEq:
		return x == y
	case numNe:
		return x != y
	case numLt:
		return x < y
	case numLe:
		return x <= y
	case numGt:
		return x > y
	case numGe:
		return x >= y
	}
	return false
}

// maxLikePattern bounds a like pattern (in characters): matching costs
// the text's length times the pattern's length over 64.
const maxLikePattern = 1024

// likeMatcher implements SQL LIKE: % any run, _ one character, ASCII letters
// compared case-insensitively (as SQLite does). It runs the pattern as a
// bit-parallel automaton (shift-and, with % as a state that loops), one
// step per character of the text: linear in the text whatever the pattern,
// where backtracking matchers take pattern × text on what a search box
// produces ('%aaaa…b%' against a long text).
type likeMatcher struct {
	words int      // uint64 words per state set
	last  int      // the accepting state
	pct   []uint64 // states entered by a %: they loop on any character
	anyc  []uint64 // states entered by _ : any one character
	ascii [128][]uint64
	other map[rune][]uint64
	cur   []uint64 // scratch state sets
	next  []uint64
}

func compileLike(p string) (*likeMatcher, error) {
	var toks []rune
	for _, r := range p {
		if r == '%' && len(toks) > 0 && toks[len(toks)-1] == '%' {
			continue // %% is %
		}
		toks = append(toks, r)
	}
	if len(toks) > maxLikePattern {
		return nil, badQuery("a like pattern may have at most %d characters", maxLikePattern)
	}
	// State j (bit j) means: the first j tokens have matched.
	words := (len(toks) + 1 + 63) / 64
	m := &likeMatcher{words: words, last: len(toks), pct: make([]uint64, words), anyc: make([]uint64, words),
		other: map[rune][]uint64{}, cur: make([]uint64, words), next: make([]uint64, words)}
	set := func(b []uint64, j int) { b[j/64] |= 1 << (j % 64) }
	lits := map[rune][]int{}
	for i, r := range toks {
		switch r {
		case '%':
			set(m.pct, i+1)
		case '_':
			set(m.anyc, i+1)
		default:
			lits[foldASCII(r)] = append(lits[foldASCII(r)], i+1)
		}
	}
	for r, states := range lits {
		b := slices.Clone(m.anyc)
		for _, j := range states {
			set(b, j)
		}
		if r < 128 {
			m.ascii[r] = b
			if 'a' <= r && r <= 'z' {
				m.ascii[r-'a'+'A'] = b
			}
		} else {
			m.other[r] = b
		}
	}
	return m, nil
}

func foldASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// mask is the set of states a character can be consumed into.
func (m *likeMatcher) mask(r rune) []uint64 {
	if r < 128 && r >= 0 {
		if b := m.ascii[r]; b != nil {
			return b
		}
	} else if b, ok := m.other[r]; ok {
		return b
	}
	return m.anyc
}

func (m *likeMatcher) match(s string) bool {
	if m.words == 1 {
		return m.match1(s)
	}
	cur, next := m.cur, m.next
	clear(cur)
	cur[0] = 1
	m.closure(cur)
	for _, r := range s {
		b := m.mask(r)
		live := uint64(0)
		carry := uint64(0)
		for w := range cur {
			shifted := cur[w]<<1 | carry
			carry = cur[w] >> 63
			next[w] = shifted&b[w] | cur[w]&m.pct[w]
		}
		m.closure(next)
		for _, x := range next {
			live |= x
		}
		if live == 0 {
			return false
		}
		cur, next = next, cur
	}
	return cur[m.last/64]&(1<<(m.last%64)) != 0
}

// closure enters every % state whose predecessor is active (a % may match
// nothing); runs of % were folded into one, so one pass suffices.
func (m *likeMatcher) closure(d []uint64) {
	carry := uint64(0)
	for w := range d {
		shifted := d[w]<<1 | carry
		carry = d[w] >> 63
		d[w] |= shifted & m.pct[w]
	}
}

// match1 is match for patterns of up to 63 characters: one word of state.
func (m *likeMatcher) match1(s string) bool {
	pct, anyc := m.pct[0], m.anyc[0]
	d := uint64(1)
	d |= d << 1 & pct
	for i := 0; i < len(s); {
		r := rune(s[i])
		if r < 128 {
			i++
		} else {
			var n int
			r, n = utf8.DecodeRuneInString(s[i:])
			i += n
		}
		b := anyc
		if r < 128 {
			if x := m.ascii[r]; x != nil {
				b = x[0]
			}
		} else if x, ok := m.other[r]; ok {
			b = x[0]
		}
		d = d<<1&b | d&pct
		d |= d << 1 & pct
		if d == 0 {
			return false
		}
	}
	return d&(1<<m.last) != 0
}
