package lsm

import (
	"errors"
	"fmt"
	"io"
	"path"
	"slices"

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
	s := &Store{
		fs:         fsys,
		opts:       opts,
		dir:        ".",
		appendMode: fsys.Caps().AppendCheap,
		strict:     opts.Durability == Strict,
		mem:        memtable.New(),
		files:      map[string]int64{},
	}
	if dir := path.Clean(opts.Dir); opts.Dir != "" && dir != "." {
		if err := fsys.MkdirAll(dir); err != nil {
			return nil, fmt.Errorf("open store: create %s: %w", dir, err)
		}
		s.dir = dir
	}
	if l, ok := fsys.(fsadapter.Locker); ok {
		// Another process writing these files would lose acknowledged writes.
		release, err := l.Lock(s.path(lockFileName))
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		s.unlock = release
	}
	names, err := fsys.ReadDir(s.dir)
	if err != nil {
		s.releaseLock()
		return nil, fmt.Errorf("open store: list %s: %w", s.dir, err)
	}
	var logs, ckpts []dataFile
	for _, name := range names {
		f, ok := parseFileName(name)
		switch {
		case !ok:
		case f.kind == kindLog:
			logs = append(logs, f)
		default:
			ckpts = append(ckpts, f)
		}
	}
	byNum := func(a, b dataFile) int { return cmpUint(a.num, b.num) }
	slices.SortFunc(logs, byNum)
	slices.SortFunc(ckpts, byNum)
	if err := s.recover(logs, ckpts); err != nil {
		s.releaseLock()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// lockFileName is the lock a store holds while open, on backends that
// several processes can share (fsadapter.Locker).
const lockFileName = "LOCK"

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

// damagedCkpt is a checkpoint newer than the one recovery starts from.
type damagedCkpt struct {
	file dataFile
	err  error
}

// logResult is what replaying one log file found.
type logResult struct {
	size    int64  // valid length after cutting a torn tail
	records int    // records in the file
	lastSeq uint64 // sequence number of its last record
}

// recover loads the newest checkpoint that verifies, replays the logs after
// it, cuts a torn tail off the last log and deletes obsolete files.
func (s *Store) recover(logs, ckpts []dataFile) error {
	var damaged []damagedCkpt
	var obsolete []string
	for i := len(ckpts) - 1; i >= 0; i-- {
		c := ckpts[i]
		if s.ckptName != "" {
			obsolete = append(obsolete, c.name)
			s.files[c.name] = 0
			continue
		}
		data, err := s.fs.ReadFile(s.path(c.name))
		if err != nil {
			return fmt.Errorf("read checkpoint %s: %w", c.name, err)
		}
		s.files[c.name] = int64(len(data))
		t, seq, err := decodeCheckpoint(c.name, data)
		if err == nil && seq != c.num {
			err = fmt.Errorf("read checkpoint %s: holds seq %d: %w", c.name, seq, kv.ErrCorrupt)
		}
		if err != nil {
			// An older checkpoint plus the logs may still cover it: a
			// checkpoint torn by a crash is never the only copy of its data.
			damaged = append(damaged, damagedCkpt{c, err})
			continue
		}
		s.mem, s.ckptSeq, s.ckptName, s.pinned = t, seq, c.name, int64(len(data))
	}

	rp := replay{next: s.ckptSeq + 1}
	last := len(logs) - 1
	for i, lg := range logs {
		if i < last && logs[i+1].num <= s.ckptSeq+1 {
			// The next log starts at or before the first needed record,
			// so this one holds only records the checkpoint covers.
			obsolete = append(obsolete, lg.name)
			s.files[lg.name] = 0
			continue
		}
		res, err := s.replayLog(lg, i == last, &rp)
		if err != nil {
			return explainDamage(err, damaged)
		}
		if i == last && s.canReuse(lg, res, rp.next-1) {
			s.logName, s.logSize = lg.name, res.size
			continue
		}
		if res.records == 0 || res.lastSeq <= s.ckptSeq {
			if _, ok := s.files[lg.name]; ok {
				obsolete = append(obsolete, lg.name)
			}
		}
	}
	s.seq = rp.next - 1
	for _, d := range damaged {
		if d.file.num > s.seq {
			return fmt.Errorf("checkpoint %s is damaged and the logs stop at seq %d: %w", d.file.name, s.seq, d.err)
		}
		obsolete = append(obsolete, d.file.name)
	}
	slices.Sort(obsolete)
	for _, name := range obsolete {
		s.remove(name)
	}
	return nil
}

// explainDamage names the damaged checkpoint that made recovery fall back to
// logs that turned out not to be there or not to be whole.
func explainDamage(err error, damaged []damagedCkpt) error {
	if len(damaged) == 0 {
		return err
	}
	d := damaged[0]
	return fmt.Errorf("checkpoint %s is damaged (%v), and falling back failed: %w", d.file.name, d.err, err)
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
	return res.lastSeq == lastSeq && res.lastSeq > s.ckptSeq
}

// replay is the progress of recovery through the logs.
type replay struct {
	next     uint64 // sequence number the next applied record must have
	tornFile string // the last earlier log that ended in a damaged record
}

// replayLog applies the records of lg after the checkpoint, checking that
// sequence numbers continue without gaps.
func (s *Store) replayLog(lg dataFile, isLast bool, rp *replay) (logResult, error) {
	var res logResult
	data, err := s.fs.ReadFile(s.path(lg.name))
	if err != nil {
		return res, fmt.Errorf("read log %s: %w", lg.name, err)
	}
	s.files[lg.name] = int64(len(data))
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
		switch {
		case res.records == 0 && seq != lg.num:
			return res, fmt.Errorf("replay log %s: first record has seq %d: %w", lg.name, seq, kv.ErrCorrupt)
		case res.records > 0 && seq != res.lastSeq+1:
			return res, fmt.Errorf("replay log %s at offset %d: seq %d follows %d: %w", lg.name, start, seq, res.lastSeq, kv.ErrCorrupt)
		}
		res.records++
		res.lastSeq = seq
		if seq <= s.ckptSeq {
			continue
		}
		if seq != rp.next {
			if rp.tornFile != "" {
				return res, fmt.Errorf("replay log %s: log %s ends in a damaged record, and seq %d follows it instead of %d: %w",
					lg.name, rp.tornFile, seq, rp.next, kv.ErrCorrupt)
			}
			return res, fmt.Errorf("replay log %s at offset %d: seq %d, want %d (log records missing): %w",
				lg.name, start, seq, rp.next, kv.ErrCorrupt)
		}
		s.pinned += int64(len(payload))
		s.mem = applyOwned(s.mem, ops) // the table references the log file's buffer until the next checkpoint repacks it
		rp.next++
		rp.tornFile = ""
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
		delete(s.files, lg.name)
		return res, nil
	}
	if err := s.fs.Truncate(s.path(lg.name), res.size); err != nil {
		return res, fmt.Errorf("cut torn log %s: %w", lg.name, err)
	}
	s.files[lg.name] = res.size
	return res, nil
}
