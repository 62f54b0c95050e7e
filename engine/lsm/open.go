package lsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"minibase/engine/cache"
	"minibase/engine/kv"
	"minibase/engine/memtable"
	"minibase/engine/wal"
	"minibase/fsadapter"
)

// Open opens the store in opts.Dir of fsys, creating it when missing, and
// recovers every acknowledged commit from the files there. Damaged files fail
// it with an error wrapping kv.ErrCorrupt that names the file.
func Open(fsys fsadapter.FS, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if opts.SegmentBytes <= 0 {
		// A flush or a merge holds one segment being written in memory: half
		// the memtable at most, so that a small memtable (the small-device
		// defaults) also bounds that buffer.
		opts.SegmentBytes = min(DefaultSegmentBytes, max(DefaultSegmentBytesWhole, opts.MemtableBytes/2))
		if _, ok := fsys.(RangeReader); !ok {
			opts.SegmentBytes = DefaultSegmentBytesWhole
		}
	}
	s := &Store{
		fs:         fsys,
		opts:       opts,
		dir:        ".",
		appendMode: fsys.Caps().AppendCheap,
		strict:     opts.Durability == Strict,
		mem:        memtable.New(),
		files:      map[string]int64{},
		segs:       map[uint64]*segment{},
		nextFile:   1,
		cache:      cache.New(opts.CacheBytes),
		readers:    &openReaders{limit: opts.IndexBytes},
		pinned:     newPinSet(opts.Pinned),
	}
	if dir := path.Clean(opts.Dir); opts.Dir != "" && dir != "." {
		if err := fsys.MkdirAll(dir); err != nil {
			return nil, fmt.Errorf("open store: create %s: %w", dir, err)
		}
		s.dir = dir
	}
	if !opts.AdoptDir {
		if err := s.checkIsStore(); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	if l, ok := fsys.(fsadapter.Locker); ok {
		// Another process writing these files would lose acknowledged writes.
		release, err := l.Lock(s.path(lockFileName))
		if err != nil {
			return nil, err // names the lock file already
		}
		s.unlock = release
	}
	names, err := fsys.ReadDir(s.dir)
	if err != nil {
		s.releaseLock()
		return nil, fmt.Errorf("open store: list %s: %w", s.dir, err)
	}
	var found []dataFile
	for _, name := range names {
		if f, ok := parseFileName(name); ok {
			found = append(found, f)
		}
	}
	slices.SortFunc(found, func(a, b dataFile) int { return cmpUint(a.num, b.num) })
	if err := s.recover(found); err != nil {
		s.releaseLock()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if len(found) == 0 && s.createNextLog(0) {
		// A new store promises its first log in a manifest at once, so that
		// deleting that log is found even before the first flush. Failing
		// costs the promise only.
		_ = s.install(nil, 0, s.pins)
	}
	return s, nil
}

// lockFileName is the lock a store holds while open, on backends that
// several processes can share (fsadapter.Locker).
const lockFileName = "LOCK"

// checkIsStore refuses a directory that holds files but none of a store's:
// a root mistyped as a home or project directory must not be written into,
// and a file there that happens to be named like a log must not be cut or
// deleted by recovery. Hidden files (a desktop's .DS_Store) do not count.
func (s *Store) checkIsStore() error {
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", s.dir, err)
	}
	var other []string
	for _, name := range names {
		if _, ok := parseFileName(name); ok || name == lockFileName {
			return nil
		}
		if !strings.HasPrefix(name, ".") {
			other = append(other, name)
		}
	}
	if len(other) == 0 {
		return nil
	}
	shown := other[:min(len(other), 3)]
	return fmt.Errorf("%s holds %d files (%s…) and none of a database's; choose an empty or new directory, or adopt this one explicitly: %w",
		s.dir, len(other), strings.Join(shown, ", "), ErrNotStore)
}

func (s *Store) releaseLock() error {
	if s.unlock == nil {
		return nil
	}
	err := s.unlock()
	s.unlock = nil
	return err
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// damagedFile is a manifest newer than the one recovery starts from.
type damagedFile struct {
	name string
	err  error
}

// logResult is what replaying one log file found.
type logResult struct {
	size      int64  // valid length after cutting a torn tail
	records   int    // records in the file
	lastSeq   uint64 // sequence number of its last record
	continued bool   // it ends in a successorMark
}

// recover opens the segments of the newest manifest that verifies, replays
// the logs after it, cuts a torn tail off the last log and deletes obsolete
// files.
func (s *Store) recover(found []dataFile) error {
	var logs, mans []dataFile
	onDisk := map[uint64]bool{}
	for _, f := range found {
		switch f.kind {
		case kindLog:
			logs = append(logs, f)
		case kindManifest:
			mans = append(mans, f)
			s.nextFile = max(s.nextFile, f.num+1)
		case kindSeg:
			onDisk[f.num] = true
			s.nextFile = max(s.nextFile, f.num+1)
		case kindCkpt:
			return fmt.Errorf("%s is a version 1 checkpoint, a format this version no longer reads: %w", f.name, kv.ErrCorrupt)
		}
	}
	// Recovery reads every log and manifest whole: a backend that loads
	// files on demand is told all of them at once (one load, not one per
	// file) before anything else is read.
	if p, ok := s.fs.(Prefetcher); ok && len(logs)+len(mans) > 0 {
		names := make([]string, 0, len(logs)+len(mans))
		for _, f := range append(slices.Clone(logs), mans...) {
			names = append(names, s.path(f.name))
		}
		if err := p.Prefetch(names); err != nil {
			return fmt.Errorf("open: %w", err)
		}
	}
	var damaged []damagedFile
	var obsolete []string
	var chosen *manifest
	for i := len(mans) - 1; i >= 0; i-- {
		f := mans[i]
		if chosen != nil {
			obsolete = append(obsolete, f.name)
			s.files[f.name] = 0
			continue
		}
		data, err := s.fs.ReadFile(s.path(f.name))
		if err != nil {
			return fmt.Errorf("read manifest %s: %w", f.name, err)
		}
		s.files[f.name] = int64(len(data))
		m, err := decodeManifest(f.name, data)
		if err != nil {
			// An older manifest still present means the newer one was
			// never made current (the older is deleted right after it):
			// a manifest torn by a crash is never the only copy of its data.
			damaged = append(damaged, damagedFile{f.name, err})
			continue
		}
		if err := s.openVersion(f.name, m, onDisk); err != nil {
			return explainDamage(err, damaged)
		}
		chosen = &m
		s.manifestName, s.flushedSeq, s.firstLog = f.name, m.flushedSeq, m.firstLog
		s.pins = s.pinned.keep(m.pins)
		s.nextFile = max(s.nextFile, m.nextFile)
	}
	if chosen == nil {
		// No segments: no pinned key holds a value there.
		s.pins = pins{}
		for _, k := range s.pinned.keys {
			s.pins[string(k)] = pin{}
		}
	}
	if chosen == nil && len(damaged) > 0 && (len(logs) == 0 || logs[0].num != 1) {
		// Without any manifest the logs must go back to the first commit.
		d := damaged[0]
		return fmt.Errorf("manifest %s is damaged and no older state is complete: %w", d.name, d.err)
	}
	for num := range onDisk {
		if _, live := s.segs[num]; !live {
			name := segFileName(num)
			obsolete = append(obsolete, name)
			s.files[name] = 0
		}
	}

	if s.firstLog != 0 && !slices.ContainsFunc(logs, func(f dataFile) bool { return f.num == s.firstLog }) {
		return fmt.Errorf("manifest %s promises log %s with the commits after seq %d, and it is missing: %w",
			s.manifestName, logFileName(s.firstLog), s.flushedSeq, kv.ErrCorrupt)
	}
	rp := replay{next: s.flushedSeq + 1}
	last := len(logs) - 1
	for i, lg := range logs {
		if i < last && logs[i+1].num <= s.flushedSeq+1 {
			// The next log starts at or before the first needed record,
			// so this one holds only records the segments cover.
			obsolete = append(obsolete, lg.name)
			s.setFile(lg.name, 0)
			continue
		}
		res, err := s.replayLog(lg, i == last, &rp)
		if err != nil {
			return explainDamage(err, damaged)
		}
		if next := logFileName(res.lastSeq + 1); res.continued && (i == last || logs[i+1].name != next) {
			return explainDamage(fmt.Errorf("log %s ends saying the commits after seq %d continue in log %s, and it is missing: %w",
				lg.name, res.lastSeq, next, kv.ErrCorrupt), damaged)
		}
		if i == last && s.canReuse(lg, res, rp.next-1) {
			s.logName, s.logSize = lg.name, res.size
			continue
		}
		if res.records == 0 || res.lastSeq <= s.flushedSeq {
			if _, ok := s.files[lg.name]; ok {
				obsolete = append(obsolete, lg.name)
			}
		}
	}
	s.seq = rp.next - 1
	for _, d := range damaged {
		obsolete = append(obsolete, d.name)
	}
	slices.Sort(obsolete)
	for _, name := range obsolete {
		s.remove(name)
	}
	return nil
}

// openVersion registers every segment m names and makes them the current
// version. Segments m describes open on their first read; those of older
// manifests are opened now. A missing or cut segment is corruption naming
// it (damage inside one is found by the read that opens it).
func (s *Store) openVersion(manName string, m manifest, onDisk map[uint64]bool) error {
	var v version
	// A backend that loads on demand (fsadapter.ErrNotResident) hears of
	// every segment whose index it lacks in one pass, not one per open.
	var later error
	sizes := s.listSizes()
	for _, refs := range m.runs {
		var r run
		for _, ref := range refs {
			name := segFileName(ref.num)
			if !onDisk[ref.num] {
				return fmt.Errorf("manifest %s names segment %s, which is missing: %w", manName, name, kv.ErrCorrupt)
			}
			size, listed := sizes[name]
			if !listed {
				fi, err := s.fs.Stat(s.path(name))
				if err != nil {
					return fmt.Errorf("stat segment %s: %w", name, err)
				}
				size = fi.Size()
			}
			if size != ref.size {
				return fmt.Errorf("read segment %s: %d bytes, manifest %s says %d: %w", name, size, manName, ref.size, kv.ErrCorrupt)
			}
			var sg *segment
			if ref.meta != nil {
				sg = s.lazySegment(ref.num, ref.size, *ref.meta)
			} else {
				var err error
				sg, err = s.openSegment(ref.num, ref.size)
				if errors.Is(err, fsadapter.ErrNotResident) {
					if later == nil {
						later = err
					}
					continue
				}
				if err != nil {
					return err
				}
			}
			s.files[name] = ref.size
			if n := len(r); n > 0 && bytes.Compare(r[n-1].meta.largest, sg.meta.smallest) >= 0 {
				return fmt.Errorf("manifest %s: segment %s overlaps the one before it: %w", manName, name, kv.ErrCorrupt)
			}
			if sg.meta.entries == 0 {
				return fmt.Errorf("read segment %s: empty: %w", name, kv.ErrCorrupt)
			}
			r = append(r, sg)
		}
		v = append(v, r)
	}
	if later != nil {
		return later
	}
	v.ref()
	s.cur = v
	return nil
}

// listSizes is the sizes of the store's files from one listing, when the
// backend can give them (fsadapter.SizeLister), or nil: each segment is
// then one Stat, which under wasm on the browser's OPFS host is a crossing
// into JavaScript each (a fifth of opening a 1 GB store).
func (s *Store) listSizes() map[string]int64 {
	sl, ok := s.fs.(fsadapter.SizeLister)
	if !ok {
		return nil
	}
	sizes, err := sl.ReadDirSizes(s.dir)
	if err != nil {
		return nil
	}
	return sizes
}

// explainDamage names the damaged manifest that made recovery fall back to
// logs that turned out not to be there or not to be whole.
func explainDamage(err error, damaged []damagedFile) error {
	if len(damaged) == 0 {
		return err
	}
	d := damaged[0]
	return fmt.Errorf("manifest %s is damaged (%v), and falling back failed: %w", d.name, d.err, err)
}

// canReuse says whether new commits may be appended to the last log: it must
// continue exactly where recovery ended and still have room.
func (s *Store) canReuse(lg dataFile, res logResult, lastSeq uint64) bool {
	if !s.appendMode || res.size >= s.opts.LogFileSize {
		return false
	}
	if _, ok := s.files[lg.name]; !ok {
		return false // removed as a torn stub
	}
	if res.records == 0 {
		return lg.num == lastSeq+1
	}
	return res.lastSeq == lastSeq && res.lastSeq > s.flushedSeq
}

// replay is the progress of recovery through the logs.
type replay struct {
	next     uint64 // sequence number the next applied record must have
	tornFile string // the last earlier log that ended in a damaged record
	lastLog  string // the last log that held a needed record, "" before any
}

// missingLogErr describes commits missing between the logs: the log that
// held them was deleted, or the log before it was cut short. Either file is
// named, so whoever reads the error knows what to look for.
func missingLogErr(name string, off int64, seq uint64, rp *replay, manifest string) error {
	gone := fmt.Sprintf("commits %d to %d are missing", rp.next, seq-1)
	if seq == rp.next+1 {
		gone = fmt.Sprintf("commit %d is missing", rp.next)
	}
	var why string
	switch {
	case rp.lastLog != "":
		why = fmt.Sprintf("log %s was deleted, or log %s was cut short", logFileName(rp.next), rp.lastLog)
	case manifest != "":
		why = fmt.Sprintf("log %s, the first after manifest %s, was deleted or cut short", logFileName(rp.next), manifest)
	default:
		why = fmt.Sprintf("log %s, the first, was deleted or cut short", logFileName(rp.next))
	}
	return fmt.Errorf("replay log %s at offset %d: seq %d follows: %s (%s): %w", name, off, seq, gone, why, kv.ErrCorrupt)
}

// replayLog applies the records of lg after the flushed ones, checking that
// sequence numbers continue without gaps.
func (s *Store) replayLog(lg dataFile, isLast bool, rp *replay) (logResult, error) {
	var res logResult
	data, err := s.fs.ReadFile(s.path(lg.name))
	if err != nil {
		return res, fmt.Errorf("read log %s: %w", lg.name, err)
	}
	s.setFile(lg.name, int64(len(data)))
	r := wal.NewReader(lg.name, data)
	torn := false
	for {
		start := r.Offset()
		payload, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, wal.ErrTorn) {
			torn = true
			break
		}
		if err != nil {
			return res, err
		}
		seq, ops, err := wal.DecodeBatch(payload)
		if err != nil {
			return res, fmt.Errorf("replay log %s at offset %d: %w", lg.name, start, err)
		}
		if seq == 0 && len(ops) == 0 {
			// A successorMark, which only ever ends a log with commits.
			if _, err := r.Next(); !errors.Is(err, io.EOF) || res.records == 0 {
				return res, fmt.Errorf("replay log %s at offset %d: a misplaced end mark: %w", lg.name, start, kv.ErrCorrupt)
			}
			res.continued = true
			if res.lastSeq > s.flushedSeq {
				s.logBytes += r.Offset() - start
			}
			break
		}
		switch {
		case res.records == 0 && seq != lg.num:
			return res, fmt.Errorf("replay log %s: first record has seq %d: %w", lg.name, seq, kv.ErrCorrupt)
		case res.records > 0 && seq != res.lastSeq+1:
			return res, fmt.Errorf("replay log %s at offset %d: seq %d follows %d: %w", lg.name, start, seq, res.lastSeq, kv.ErrCorrupt)
		}
		res.records++
		res.lastSeq = seq
		if seq <= s.flushedSeq {
			continue
		}
		if seq != rp.next {
			if rp.tornFile != "" {
				return res, fmt.Errorf("replay log %s: log %s ends in a damaged record, and seq %d follows it instead of %d: %w",
					lg.name, rp.tornFile, seq, rp.next, kv.ErrCorrupt)
			}
			return res, missingLogErr(lg.name, start, seq, rp, s.manifestName)
		}
		opAt := func(i int) kv.Op { return ops[i] }
		s.mem = applyOps(s.mem, len(ops), opAt, func() []int32 { return sortedOps(len(ops), opAt) }, len(s.cur) > 0)
		rp.next++
		rp.tornFile = ""
		rp.lastLog = lg.name
		s.logBytes += r.Offset() - start
	}
	res.size = int64(len(data))
	if torn {
		rp.tornFile = lg.name
	}
	if !torn || !isLast {
		// A torn tail in an earlier log is the stub of a failed append that
		// could not be cut; sequence continuity into the next log proves no
		// acknowledged record was lost there.
		return res, nil
	}
	// Cut the torn tail so that later appends never sit behind garbage.
	res.size = r.Offset()
	if res.size == 0 && !s.appendMode {
		if err := s.fs.Remove(s.path(lg.name)); err != nil {
			return res, fmt.Errorf("remove torn log %s: %w", lg.name, err)
		}
		s.forgetFile(lg.name)
		return res, nil
	}
	if err := s.fs.Truncate(s.path(lg.name), res.size); err != nil {
		return res, fmt.Errorf("cut torn log %s: %w", lg.name, err)
	}
	s.files[lg.name] = res.size
	return res, nil
}
