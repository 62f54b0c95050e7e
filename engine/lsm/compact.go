package lsm

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"slices"

	"minibase/engine/kv"
	"minibase/engine/sstable"
	"minibase/fsadapter"
)

// compaction is a merge of adjacent runs done a step at a time
// (CompactStep), for stores whose backend loads segment bytes on demand and
// only so many of them per call (IndexedDB): there a merge whose inputs are
// larger than what one call may load can never run inside one call, and
// when it ran inside the Apply that triggered it, it failed there every
// time, while the runs it should have merged piled up.
//
// Between steps it keeps where it stands: the key it last wrote, the entries
// after the last finished output segment (in w), and the finished output
// segments. Those are written but named by no manifest until the last step
// installs the merge in one manifest write, as merge does; a crash before
// that leaves them for Open to delete as orphans, and the merge starts over.
type compaction struct {
	inputs    []run // the runs merged, newest first, adjacent in the version
	dropTombs bool  // the inputs end with the oldest run
	w         *sstable.Writer
	out       run    // finished output segments, not yet in a manifest
	last      []byte // the last key the merge passed (written or dropped)
	started   bool   // last is set
}

// CompactStep does a bounded part of the merging the size tiers call for
// and reports whether more remains. It is how a store opened with
// Options.CompactInSteps compacts; it works on any store.
//
// A step goes on with the merge under way, or starts the one the tiers call
// for, and returns once it has finished an output segment or the merge. When
// a read fails with fsadapter.ErrNotResident (the backend has not loaded
// that part of an input yet) after the step merged some entries, it keeps
// them and returns more: the next step, once the backend loaded what was
// missed, goes on from there. A step that merged nothing before such a read
// fails with an error wrapping ErrNotResident, having changed nothing that
// matters (at most it chose the merge the next step goes on with): run again
// once the backend loaded what every input missed, it needs them all at
// once. Any other failure abandons the merge (its output is deleted; the
// inputs stay as they were) and is returned. Commits are never affected: a
// merge replaces runs by their merge, and is installed by one manifest
// write.
func (s *Store) CompactStep() (more bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, fmt.Errorf("compact step: %w", kv.ErrClosed)
	}
	if s.job == nil {
		lo, hi, ok := s.pickCompaction()
		if !ok {
			return false, nil
		}
		s.job = s.newCompaction(lo, hi)
	}
	done, progressed, err := s.step(s.job)
	switch {
	case errors.Is(err, fsadapter.ErrNotResident) && s.job.w != nil && progressed:
		return true, nil
	case errors.Is(err, fsadapter.ErrNotResident) && s.job.w != nil:
		return true, fmt.Errorf("compact step: %w", err)
	case err != nil:
		s.abandon()
		return false, fmt.Errorf("compact step: %w", err)
	case !done:
		return true, nil
	}
	if err := s.installJob(); err != nil {
		return false, fmt.Errorf("compact step: %w", err)
	}
	_, _, more = s.pickCompaction()
	return more, nil
}

// CompactionDue reports whether the size tiers call for a merge, or one is
// under way: what a caller of CompactStep polls after a write.
func (s *Store) CompactionDue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.job != nil {
		return true
	}
	_, _, ok := s.pickCompaction()
	return ok
}

func (s *Store) newCompaction(lo, hi int) *compaction {
	hint := s.segmentBuffer(s.cur[lo : hi+1].size())
	return &compaction{
		inputs:    slices.Clone(s.cur[lo : hi+1]),
		dropTombs: hi == len(s.cur)-1,
		w:         sstable.NewWriter(s.opts.BlockSize, hint),
		// Never nil once set, even for an empty key: the next step's bound
		// must be a key, not "from the start".
		last: make([]byte, 0, 64),
	}
}

// step merges on from where j stands until it finished an output segment
// (done false) or the whole merge (done true, the last segment written);
// progressed says whether it passed any entry.
func (s *Store) step(j *compaction) (done, progressed bool, err error) {
	// The bound is a copy: j.last changes as the merge goes on, and the
	// sources compare their bound again whenever they open a segment.
	var lower []byte
	if j.started {
		lower = bytes.Clone(j.last)
	}
	srcs := make([]source, len(j.inputs))
	for i, r := range j.inputs {
		srcs[i] = newRunSource(r, lower, nil, false)
	}
	m := newMergeIter(srcs, false, true)
	defer m.Close()
	for m.Next() {
		k, v, tomb := m.Entry()
		if lower != nil && bytes.Equal(k, lower) {
			continue // passed by the step before
		}
		j.last = append(j.last[:0], k...)
		j.started = true
		progressed = true
		if tomb && j.dropTombs {
			continue
		}
		j.w.Add(k, v, tomb)
		if int64(j.w.Size()) >= s.opts.SegmentBytes {
			return false, true, s.finishJobSegment(j)
		}
	}
	if err := m.Err(); err != nil {
		return false, progressed, err
	}
	return true, progressed, s.finishJobSegment(j)
}

// finishJobSegment writes what j.w holds as a segment of j's output, opened
// and registered but named by no manifest. On failure j.w is nil: what it
// held is lost, and the merge cannot go on.
func (s *Store) finishJobSegment(j *compaction) error {
	if j.w.Entries() == 0 {
		return nil
	}
	data := j.w.Finish()
	num := s.nextFile
	s.nextFile++
	name := segFileName(num)
	if err := s.fs.WriteFile(s.path(name), data, s.strict); err != nil {
		s.remove(name)
		j.w = nil
		return fmt.Errorf("write segment %s: %w", name, err)
	}
	s.setFile(name, int64(len(data)))
	s.written += int64(len(data))
	if _, ranged := s.fs.(RangeReader); ranged {
		// WriteFile kept nothing: the next segment reuses the buffer.
		j.w = sstable.NewWriterInto(s.opts.BlockSize, data)
	} else {
		s.whole.prime(s.path(name), data)
		j.w = sstable.NewWriter(s.opts.BlockSize, len(data))
	}
	sg, err := s.openSegment(num, int64(len(data)))
	if err != nil {
		s.remove(name)
		j.w = nil
		return err
	}
	j.out = append(j.out, sg)
	// Let a garbage collection under way finish (see writeRun).
	runtime.Gosched()
	return nil
}

// installJob replaces the merged runs by the output of the finished merge,
// in one manifest write.
func (s *Store) installJob() error {
	j := s.job
	lo, ok := s.jobAt(j)
	if !ok || j.dropTombs && lo+len(j.inputs) != len(s.cur) {
		// Flushes only add runs in front of the inputs; a merge of other
		// work (Compact) took them over: this one is dropped unused.
		s.abandon()
		return nil
	}
	s.job = nil
	v := slices.Clone(s.cur[:lo])
	if len(j.out) > 0 {
		v = append(v, j.out)
	}
	v = append(v, s.cur[lo+len(j.inputs):]...)
	if err := s.install(v, s.flushedSeq, s.pins); err != nil {
		return fmt.Errorf("merge runs: %w", err)
	}
	s.compactions++
	return nil
}

// jobAt finds j's inputs in the current version: where they start.
func (s *Store) jobAt(j *compaction) (int, bool) {
	for lo := range s.cur {
		if len(s.cur[lo]) == 0 || s.cur[lo][0] != j.inputs[0][0] {
			continue
		}
		if lo+len(j.inputs) > len(s.cur) {
			return 0, false
		}
		for i, r := range j.inputs {
			if !slices.Equal(s.cur[lo+i], r) {
				return 0, false
			}
		}
		return lo, true
	}
	return 0, false
}

// abandon drops the merge under way and deletes its output.
func (s *Store) abandon() {
	if s.job == nil {
		return
	}
	s.discard(s.job.out)
	s.job = nil
}
