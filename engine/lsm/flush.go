package lsm

import (
	"bytes"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"

	"minibase/engine/memtable"
	"minibase/engine/sstable"
	"minibase/fsadapter"
)

// tierRuns is how many adjacent runs of one size tier a compaction merges;
// tierFactor is the size ratio between tiers.
const (
	tierRuns   = 4
	tierFactor = 4
	// maxRuns bounds the runs a read consults, whatever their sizes.
	maxRuns = 12
	// scanChunk is how much of a segment a compaction reads at a time.
	scanChunk = 256 << 10
)

// MaxRuns is the most runs the size tiers let a store keep: past it, the
// cheapest adjacent pair is merged. A store compacting in steps
// (Options.CompactInSteps) goes past it while steps are behind.
const MaxRuns = maxRuns

// flushDue says whether the memtable should go to a segment now.
func (s *Store) flushDue() bool {
	if s.logBytes < s.flushWait {
		return false
	}
	return s.logBytes >= s.opts.MemtableBytes || (!s.appendMode && s.logFiles >= s.opts.MaxLogFiles)
}

// flushAndCompact flushes the memtable, then merges runs as the size tiers
// call for (unless merges are left to CompactStep).
func (s *Store) flushAndCompact() error {
	if err := s.flush(); err != nil {
		return err
	}
	return s.mergeAfterFlush()
}

// mergeAfterFlush merges runs as the size tiers call for after a flush,
// unless merges are left to CompactStep.
func (s *Store) mergeAfterFlush() error {
	if s.opts.CompactInSteps {
		s.flushWait = 0
		return nil
	}
	return s.compactAfterFlush()
}

// compactAfterFlush merges runs as the size tiers call for.
func (s *Store) compactAfterFlush() error {
	for range maxRuns {
		lo, hi, ok := s.pickCompaction()
		if !ok {
			break
		}
		// This merge may take runs of the one CompactStep has under way.
		s.abandon()
		if err := s.merge(lo, hi); err != nil {
			return err
		}
	}
	s.flushWait = 0
	return nil
}

// tier is the size class of a run: runs within a factor of tierFactor of
// each other share one.
func (s *Store) tier(size int64) int {
	t := 0
	for base := max(s.opts.MemtableBytes, 1) * tierFactor; size >= base && t < 60; size /= tierFactor {
		t++
	}
	return t
}

// pickCompaction chooses adjacent runs lo..hi to merge: the newest group of
// tierRuns runs sharing a tier, or, past maxRuns runs, the adjacent pair
// with the fewest bytes.
func (s *Store) pickCompaction() (lo, hi int, ok bool) {
	v := s.cur
	for i := 0; i < len(v); {
		j := i
		t := s.tier(v[i].size())
		for j+1 < len(v) && s.tier(v[j+1].size()) == t {
			j++
		}
		if j-i+1 >= tierRuns {
			return i, j, true
		}
		i = j + 1
	}
	if len(v) <= maxRuns {
		return 0, 0, false
	}
	best := 0
	for i := 1; i+1 < len(v); i++ {
		if v[i].size()+v[i+1].size() < v[best].size()+v[best+1].size() {
			best = i
		}
	}
	return best, best + 1, true
}

// flush writes the memtable as a new run, installs a manifest naming it and
// deletes the logs it covers. On failure nothing changes but stray files.
func (s *Store) flush() error { return s.flushWith(nil) }

// flushWith is flush with newer writes than the memtable's merged in.
func (s *Store) flushWith(newer source) error {
	if s.seq == s.flushedSeq {
		return nil
	}
	v := s.cur
	watch := s.pinned.watch()
	var src source
	switch {
	case newer != nil && s.mem.Len() > 0 && s.mem.Len() <= smallMergeMax:
		src = newSmallMerge(newer, s.mem)
	case newer != nil && s.mem.Len() > 0:
		src = newMergeIter([]source{newer, memSource{s.mem.NewIter(nil, nil, false)}}, false, true)
	case newer != nil:
		src = newer
	case s.mem.Len() > 0:
		src = memSource{s.mem.NewIter(nil, nil, false)}
	}
	if src != nil {
		// Tombstones shadow older runs; with none, they can go.
		in := s.mem.Size()
		if b, ok := newer.(*batchSource); ok {
			in += int64(b.b.Size())
		}
		r, err := s.writeRun(src, in, len(s.cur) == 0, true, watch)
		if err != nil {
			return fmt.Errorf("flush: %w", err)
		}
		_, load := newer.(*batchSource)
		s.coldLoad = load && len(s.cold) > 0
		if len(r) > 0 {
			v = append(version{r}, s.cur...)
		}
	}
	// Later commits go to a new log, so every existing log holds only
	// records the segments cover. It is created before the manifest, which
	// promises it.
	if s.log != nil {
		_ = s.log.Close()
		s.log = nil
	}
	s.logName, s.claimed = "", ""
	s.createNextLog(s.seq)
	p := s.pins
	if watch != nil {
		p = watch.after(s.pins)
	}
	if err := s.install(v, s.seq, p); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	s.flushes++
	s.mem = memtable.New()
	s.logBytes = 0
	s.removeStaleLogs()
	return nil
}

// removeStaleLogs deletes every log file the manifest covers, once it
// covers every commit; the log after it stays. Failures leave files for the
// next flush or Open.
func (s *Store) removeStaleLogs() {
	if s.seq != s.flushedSeq {
		return
	}
	var names []string
	for name := range s.files {
		if f, ok := parseFileName(name); ok && f.kind == kindLog && f.num <= s.flushedSeq {
			names = append(names, name)
		}
	}
	// Sorted, so deletions (and crash points in tests) happen in one order.
	slices.Sort(names)
	for _, name := range names {
		s.remove(name)
	}
}

// merge replaces runs lo..hi of the current version by their merge.
func (s *Store) merge(lo, hi int) error {
	srcs := make([]source, 0, hi-lo+1)
	for _, r := range s.cur[lo : hi+1] {
		src := newRunSource(r, nil, nil, false)
		src.scan = true
		if _, ok := s.fs.(RangeReader); ok {
			// Bounded memory per merged run; without range reads every
			// read costs the whole file, so it is read once.
			src.chunk = scanChunk
		}
		srcs = append(srcs, src)
	}
	out, err := s.writeRun(newMergeIter(srcs, false, true), s.cur[lo:hi+1].size(), hi == len(s.cur)-1, false, nil)
	if err != nil {
		return fmt.Errorf("merge runs: %w", err)
	}
	v := slices.Clone(s.cur[:lo])
	if len(out) > 0 {
		v = append(v, out)
	}
	v = append(v, s.cur[hi+1:]...)
	if err := s.install(v, s.flushedSeq, s.pins); err != nil {
		return fmt.Errorf("merge runs: %w", err)
	}
	s.compactions++
	return nil
}

// writeRun writes src's entries as segment files of about SegmentBytes and
// opens them. in is about how many bytes src holds (see segmentBuffer).
// dropTombs leaves deletions out. prime puts the blocks written
// into the block cache's free room (Reader.Prime): a flush's, the newest
// data, which reads right after a write or a load ask for; not a
// compaction's, whose inputs' blocks still fill the cache while it runs and
// whose output is mostly data no one just read. On error it deletes what it
// wrote.
func (s *Store) writeRun(src source, in int64, dropTombs, prime bool, watch *pinWatch) (run, error) {
	var out run
	hint := s.segmentBuffer(in)
	w := sstable.NewWriter(s.opts.BlockSize, hint)
	_, ranged := s.fs.(RangeReader)
	var primed int64 // bytes of this run put in the block cache
	if prime {
		prime = ranged && !s.fs.Caps().InMemory
	}
	primeBudget := int64(0)
	if prime {
		primeBudget = primeRoom(s.opts.CacheBytes)
		s.cold, s.coldLoad = s.cold[:0], false
	}
	finish := func() error {
		if w.Entries() == 0 {
			return nil
		}
		data := w.Finish()
		num := s.nextFile
		s.nextFile++
		name := segFileName(num)
		if err := s.fs.WriteFile(s.path(name), data, s.strict); err != nil {
			s.remove(name)
			return fmt.Errorf("write segment %s: %w", name, err)
		}
		s.setFile(name, int64(len(data)))
		s.written += int64(len(data))
		if ranged {
			// WriteFile kept nothing: the next segment reuses the buffer
			// instead of leaving megabytes of garbage per file.
			w = sstable.NewWriterInto(s.opts.BlockSize, data)
		} else {
			s.whole.prime(s.path(name), data)
			w = sstable.NewWriter(s.opts.BlockSize, hint)
		}
		sg, err := s.openSegment(num, int64(len(data)))
		if err != nil {
			s.remove(name)
			return err
		}
		if prime && primed < primeBudget {
			// Reads of the new run start warm. Only where blocks are read
			// from storage: a file kept in memory is read from there.
			if r := sg.r.Load(); r != nil {
				primed += r.Prime(data, primeBudget-primed)
			}
		}
		if prime && primed >= primeBudget {
			s.cold = append(s.cold, num) // for WarmCache
		}
		out = append(out, sg)
		return nil
	}
	var err error
	watching := watch != nil
	for src.Next() {
		k, v, tomb := src.Entry()
		if watching {
			watching = watch.saw(k, v, tomb)
		}
		if dropTombs && tomb {
			continue
		}
		w.Add(k, v, tomb)
		if int64(w.Size()) >= s.opts.SegmentBytes {
			if err = finish(); err != nil {
				break
			}
			// Let a garbage collection under way finish (see engine.yield):
			// a flush or compaction can be one long call in wasm.
			runtime.Gosched()
		}
	}
	if err == nil {
		err = src.Err()
	}
	if err == nil {
		err = finish()
	}
	if err != nil {
		s.discard(out)
		return nil, err
	}
	return out, nil
}

// WarmCache reads into the block cache's free room (within primeRoom) the
// blocks of the newest flush's segments that the flush could not copy
// there: a bulk load's, which runs with the load's garbage filling the
// heap. The host calls it once that garbage is collected and the memory
// the load grew is lent (LendCache), so that reads right after a load find
// the blocks they would otherwise each read from storage. The run a bulk
// load wrote is read into the loan too, the cache keeping there what it
// evicts: the app that just loaded rows is likely to read them next. A
// memtable's flush is not (in a stream of loads, each would read its run
// into a loan the next load takes back), nor a load on a backend that
// loads on demand (its host would load chunks for the loan that the next
// calls may need the room of). Segments merged away since are skipped. An
// error is a read or checksum failure of a block, which a read of it would
// report too.
func (s *Store) WarmCache() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cold, loan := s.cold, s.coldLoad && !s.fs.Caps().LoadsOnDemand
	s.cold, s.coldLoad = nil, false
	if s.closed || len(cold) == 0 {
		return nil
	}
	room := s.opts.CacheBytes
	if loan {
		room = s.cache.Stats().Limit // the configured size and the loan's chunks
	}
	budget := primeRoom(room)
	var bufs sstable.ReadBuffers
	for _, num := range cold {
		sg, ok := s.segs[num]
		if !ok || sg.obsolete || budget <= 0 {
			continue
		}
		r, err := sg.reader()
		if err != nil {
			return err
		}
		added, err := r.Warm(&bufs, budget, loan)
		budget -= added
		if err != nil {
			return fmt.Errorf("warm cache: %w", err)
		}
	}
	return nil
}

// primeRoom is how many bytes a flush may copy into a block cache of limit
// bytes: none while the heap is within a quarter of the process's memory
// limit (debug.SetMemoryLimit; the wasm host sets it from the open
// stores). A flush at the end of a large write runs with that write's
// garbage still in the heap; copies added then would keep the collector
// running and raise the peak that wasm memory (never returned) keeps.
func primeRoom(limit int64) int64 {
	ml := debug.SetMemoryLimit(-1)
	if ml == math.MaxInt64 || limit <= 0 {
		return max(limit, 0)
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return min(max(ml*3/4-int64(s[0].Value.Uint64()), 0), limit)
}

// segmentBuffer is the room a segment writer starts with for an output of
// about in bytes: a full segment plus the block, index and filter that end
// it, or less when the output is smaller (a checkpoint's or a close's
// flush), so that SegmentBytes is not allocated for every small flush.
func (s *Store) segmentBuffer(in int64) int {
	n := min(s.opts.SegmentBytes, 64<<20)
	if in > 0 {
		n = min(n, in+in/8)
	}
	return int(n) + int(min(n/8, 1<<20)) + 64<<10
}

// discard deletes segments that no manifest names.
func (s *Store) discard(r run) {
	for _, sg := range r {
		delete(s.segs, sg.num)
		s.cache.Evict(sg.num)
		s.remove(sg.name)
	}
}

// openSegment opens segment file num of size bytes now and registers it.
func (s *Store) openSegment(num uint64, size int64) (*segment, error) {
	sg := s.newSegment(num, size, segMeta{}, false)
	r, err := sg.open()
	if err != nil {
		return nil, err
	}
	sg.meta = metaOf(r)
	sg.r.Store(r)
	s.readers.add(sg, r)
	s.segs[num] = sg
	return sg, nil
}

// lazySegment registers segment file num of size bytes, which a manifest
// described as meta, to be opened on its first read.
func (s *Store) lazySegment(num uint64, size int64, meta segMeta) *segment {
	sg := s.newSegment(num, size, meta, true)
	s.segs[num] = sg
	return sg
}

// newSegment is segment file num of size bytes, not yet opened.
func (s *Store) newSegment(num uint64, size int64, meta segMeta, described bool) *segment {
	name := segFileName(num)
	p := s.path(name)
	var read sstable.ReadFunc
	var readInto sstable.ReadIntoFunc
	if rr, ok := s.fs.(RangeReader); ok {
		read = func(off int64, n int) ([]byte, error) { return rr.ReadRange(p, off, n) }
		if ri, ok := s.fs.(fsadapter.RangeIntoReader); ok {
			readInto = func(off int64, dst []byte) error { return ri.ReadRangeInto(p, off, dst) }
		}
	} else {
		read = func(off int64, n int) ([]byte, error) { return s.whole.read(s.fs, p, off, n) }
	}
	return &segment{num: num, name: name, size: size, meta: meta, described: described, read: read, readInto: readInto, cache: s.cache, readers: s.readers}
}

// install makes v the current version: it writes a manifest naming v, then
// deletes the previous manifest and the segments v no longer names (once no
// snapshot reads them). On failure nothing changes and the new segments of v
// are deleted.
func (s *Store) install(v version, flushedSeq uint64, p pins) error {
	m := manifest{flushedSeq: flushedSeq, pins: p}
	if _, ok := s.files[logFileName(flushedSeq+1)]; ok && s.appendMode {
		m.firstLog = flushedSeq + 1
	}
	inNew := map[uint64]bool{}
	for _, r := range v {
		refs := make([]segRef, len(r))
		for i, sg := range r {
			refs[i] = segRef{num: sg.num, size: sg.size, meta: &sg.meta}
			inNew[sg.num] = true
		}
		m.runs = append(m.runs, refs)
	}
	num := s.nextFile
	s.nextFile++
	m.nextFile = s.nextFile
	name := manifestFileName(num)
	data := encodeManifest(m)
	if err := s.fs.WriteFile(s.path(name), data, s.strict); err != nil {
		s.remove(name)
		var fresh run
		for _, r := range v {
			for _, sg := range r {
				if sg.refs == 0 {
					fresh = append(fresh, sg)
				}
			}
		}
		s.discard(fresh)
		return fmt.Errorf("write manifest %s: %w", name, err)
	}
	s.setFile(name, int64(len(data)))
	s.written += int64(len(data))
	old, oldName := s.cur, s.manifestName
	s.cur, s.manifestName, s.flushedSeq, s.firstLog, s.pins = v, name, flushedSeq, m.firstLog, p
	v.ref()
	// The older manifest goes first: while it exists, the logs and
	// segments it needs exist too, so Open may fall back to it when the
	// new one turns out damaged.
	if oldName != "" {
		s.remove(oldName)
	}
	for _, r := range old {
		for _, sg := range r {
			if !inNew[sg.num] {
				sg.obsolete = true
			}
		}
	}
	s.unref(old)
	return nil
}

// wholeFile serves block reads on backends without RangeReader: it reads a
// whole segment file and keeps the last one, since compactions and scans
// read a file's blocks in a row.
type wholeFile struct {
	mu   sync.Mutex
	name string
	data []byte
}

func (w *wholeFile) read(fsys interface {
	ReadFile(string) ([]byte, error)
}, name string, off int64, n int) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.name != name {
		data, err := fsys.ReadFile(name)
		if err != nil {
			return nil, err
		}
		w.name, w.data = name, data
	}
	if off < 0 || off > int64(len(w.data)) {
		return nil, nil
	}
	end := min(off+int64(n), int64(len(w.data)))
	return bytes.Clone(w.data[off:end]), nil
}

// prime keeps data, just written as name.
func (w *wholeFile) prime(name string, data []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.name, w.data = name, data
}

// forget drops the kept file when it is name ("" drops any).
func (w *wholeFile) forget(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if name == "" || w.name == name {
		w.name, w.data = "", nil
	}
}

// smallMergeMax is the most memtable entries a flush with newer writes
// merges through smallMerge.
const smallMergeMax = 256

// smallMerge merges newer writes with a memtable of a few entries (what a
// bulk load finds there, most often: the catalog write of the table it
// fills): one comparison with the next older entry per key while any is
// left, where the general merge's bookkeeping per key was a tenth of the
// flush. On equal keys the newer write wins.
type smallMerge struct {
	// newer's current entry is asked of it each time, not kept here: a
	// slice stored into this struct per step is a write barrier while a
	// collection runs, and a bulk load's flush runs mostly during one.
	newer   source
	older   []memEntry
	i       int
	newerOK bool
	started bool
	at      int // which holds the current entry: fromNewer, fromOlder or fromBoth
}

type memEntry struct{ key, value []byte }

const (
	fromNewer = iota
	fromOlder
	fromBoth
)

func newSmallMerge(newer source, mem *memtable.Table) *smallMerge {
	m := &smallMerge{newer: newer, older: make([]memEntry, 0, mem.Len())}
	it := mem.NewIter(nil, nil, false)
	for it.Next() {
		m.older = append(m.older, memEntry{it.Key(), it.Value()})
	}
	_ = it.Close()
	return m
}

func (m *smallMerge) Next() bool {
	switch {
	case !m.started:
		m.started = true
		m.newerOK = m.newer.Next()
	case m.at == fromNewer:
		m.newerOK = m.newer.Next()
	case m.at == fromOlder:
		m.i++
	default:
		m.newerOK = m.newer.Next()
		m.i++
	}
	olderOK := m.i < len(m.older)
	switch {
	case !m.newerOK && !olderOK:
		return false
	case !olderOK:
		m.at = fromNewer
	case !m.newerOK:
		m.at = fromOlder
	default:
		switch c := bytes.Compare(m.newer.Key(), m.older[m.i].key); {
		case c < 0:
			m.at = fromNewer
		case c > 0:
			m.at = fromOlder
		default:
			m.at = fromBoth
		}
	}
	return true
}

func (m *smallMerge) Key() []byte {
	if m.at == fromOlder {
		return m.older[m.i].key
	}
	return m.newer.Key()
}

func (m *smallMerge) Value() []byte {
	if m.at == fromOlder {
		return m.older[m.i].value
	}
	return m.newer.Value()
}

func (m *smallMerge) Tomb() bool {
	if m.at == fromOlder {
		return isTomb(m.older[m.i].value)
	}
	return m.newer.Tomb()
}

func (m *smallMerge) Entry() ([]byte, []byte, bool) {
	if m.at == fromOlder {
		e := &m.older[m.i]
		return e.key, e.value, isTomb(e.value)
	}
	return m.newer.Entry()
}

func (m *smallMerge) Err() error { return m.newer.Err() }
