package lsm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/checksum"
	"minibase/engine/kv"
	"minibase/fsadapter"
	"minibase/fsadapter/memfs"
)

func sampleManifest() manifest {
	meta := func(lo, hi string, entries, tombs uint64) *segMeta {
		return &segMeta{smallest: []byte(lo), largest: []byte(hi), entries: entries, tombstones: tombs, liveBytes: 10 * entries, tail: 70}
	}
	return manifest{flushedSeq: 42, nextFile: 9, runs: [][]segRef{
		{{num: 7, size: 100, meta: meta("a", "k", 3, 0)}, {num: 8, size: 200, meta: meta("m", "m", 1, 1)}},
		{{num: 3, size: 5000, meta: meta("", "\xff\x00", 400, 12)}},
	}}
}

// withoutMeta is m as a version 1 or 2 manifest reads: no segment keys or
// counts.
func withoutMeta(m manifest) manifest {
	var runs [][]segRef
	for _, r := range m.runs {
		var refs []segRef
		for _, ref := range r {
			refs = append(refs, segRef{num: ref.num, size: ref.size})
		}
		runs = append(runs, refs)
	}
	m.runs = runs
	return m
}

// encodeOld writes m as an older version did: version 2 ("MBMANI02") has no
// segment keys or counts, version 1 ("MBMANI01") no first-log field either.
func encodeOld(m manifest, magic string) []byte {
	buf := []byte(magic)
	buf = binary.LittleEndian.AppendUint64(buf, m.flushedSeq)
	buf = binary.LittleEndian.AppendUint64(buf, m.nextFile)
	if magic == manifestMagicV2 {
		buf = binary.LittleEndian.AppendUint64(buf, m.firstLog)
	}
	buf = binary.AppendUvarint(buf, uint64(len(m.runs)))
	for _, run := range m.runs {
		buf = binary.AppendUvarint(buf, uint64(len(run)))
		for _, s := range run {
			buf = binary.AppendUvarint(buf, s.num)
			buf = binary.AppendUvarint(buf, uint64(s.size))
		}
	}
	buf = binary.LittleEndian.AppendUint32(buf, checksum.Of(buf))
	return append(buf, manifestEndMagic...)
}

func TestManifestRoundTrip(t *testing.T) {
	promising := sampleManifest()
	promising.firstLog = promising.flushedSeq + 1
	pinned := sampleManifest()
	pinned.pins = pins{"\x00catalog": {value: []byte("{...}"), has: true}, "\x00empty": {value: []byte{}, has: true}, "\x00restoring": {}}
	for _, m := range []manifest{{nextFile: 1}, sampleManifest(), promising, pinned} {
		got, err := decodeManifest("m", encodeManifest(m))
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
}

// A version 3 manifest ("MBMANI03": no pins) reads as one without pins.
func TestManifestVersion3(t *testing.T) {
	m := sampleManifest()
	data := encodeManifest(m)
	body := data[:len(data)-8-1] // without the checksum, end marker and the pin count 0
	body = append([]byte(manifestMagicV3), body[len(manifestMagic):]...)
	v3 := append(binary.LittleEndian.AppendUint32(body, checksum.Of(body)), manifestEndMagic...)
	got, err := decodeManifest("v3", v3)
	require.NoError(t, err)
	require.Equal(t, m, got)
}

func TestManifestDamage(t *testing.T) {
	data := encodeManifest(sampleManifest())
	for cut := 0; cut < len(data); cut++ {
		_, err := decodeManifest("cut.manifest", data[:cut])
		require.ErrorIs(t, err, kv.ErrCorrupt, "cut %d", cut)
		require.Contains(t, err.Error(), "cut.manifest")
	}
	for i := range data {
		d := bytes.Clone(data)
		d[i] ^= 0x08
		_, err := decodeManifest("flip.manifest", d)
		require.ErrorIs(t, err, kv.ErrCorrupt, "byte %d", i)
	}
	// Content that passes the checksum but breaks the rules.
	one := &segMeta{smallest: []byte("a"), largest: []byte("a"), entries: 1}
	for name, m := range map[string]manifest{
		"file number not below nextFile": {nextFile: 3, runs: [][]segRef{{{num: 3, size: 1, meta: one}}}},
		"segment twice":                  {nextFile: 9, runs: [][]segRef{{{num: 3, size: 1, meta: one}}, {{num: 3, size: 1, meta: one}}}},
		"empty run":                      {nextFile: 9, runs: [][]segRef{{}}},
		"first log not after the flush":  {flushedSeq: 5, nextFile: 9, firstLog: 9},
		"segment without entries":        {nextFile: 9, runs: [][]segRef{{{num: 3, size: 1, meta: &segMeta{smallest: []byte("a"), largest: []byte("b")}}}}},
		"more tombstones than entries":   {nextFile: 9, runs: [][]segRef{{{num: 3, size: 1, meta: &segMeta{largest: []byte("b"), entries: 1, tombstones: 2}}}}},
		"smallest key after the largest": {nextFile: 9, runs: [][]segRef{{{num: 3, size: 1, meta: &segMeta{smallest: []byte("b"), largest: []byte("a"), entries: 1}}}}},
		"tail longer than the file":      {nextFile: 9, runs: [][]segRef{{{num: 3, size: 100, meta: &segMeta{largest: []byte("a"), entries: 1, tail: 101}}}}},
	} {
		_, err := decodeManifest("rule.manifest", encodeManifest(m))
		require.ErrorIs(t, err, kv.ErrCorrupt, name)
	}
	// Pins that pass the checksum but break the rules.
	withPins := func(section ...byte) []byte {
		data := encodeManifest(manifest{nextFile: 1})
		body := append(bytes.Clone(data[:len(data)-8-1]), section...) // the pin count 0 replaced
		return append(binary.LittleEndian.AppendUint32(body, checksum.Of(body)), manifestEndMagic...)
	}
	_, err := decodeManifest("pins.manifest", withPins(2, 1, 'a', 0, 1, 'b', 1, 1, 'x'))
	require.NoError(t, err, "the helper builds valid pins")
	for name, data := range map[string][]byte{
		"keys out of order":      withPins(2, 1, 'b', 0, 1, 'a', 0),
		"key twice":              withPins(2, 1, 'a', 0, 1, 'a', 0),
		"a flag neither 0 nor 1": withPins(1, 1, 'a', 2),
		"a value cut short":      withPins(1, 1, 'a', 1, 5, 'x'),
		"fewer pins than said":   withPins(2, 1, 'a', 0),
		"a count past the end":   withPins(0xff, 0xff, 0x03),
	} {
		_, err := decodeManifest("pins.manifest", data)
		require.ErrorIs(t, err, kv.ErrCorrupt, name)
	}
}

func FuzzManifest(f *testing.F) {
	f.Add(encodeManifest(sampleManifest()))
	pinned := sampleManifest()
	pinned.pins = pins{"\x00c": {value: []byte("v"), has: true}, "\x00r": {}}
	f.Add(encodeManifest(pinned))
	f.Add(encodeManifest(manifest{nextFile: 1}))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeManifest("f.manifest", data)
		if err != nil {
			require.ErrorIs(t, err, kv.ErrCorrupt)
			return
		}
		if bytes.HasPrefix(data, []byte(manifestMagic)) {
			require.Equal(t, data, encodeManifest(m), "one encoding per manifest")
		}
	})
}

// FuzzManifestValid repairs the checksum of mutated manifests, so the parser
// behind it is exercised too: it must reject or accept, never panic.
func FuzzManifestValid(f *testing.F) {
	f.Add(encodeManifest(sampleManifest()))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 8 {
			return
		}
		copy(data[len(data)-4:], manifestEndMagic)
		crcAt := len(data) - 8
		sum := checksum.Of(data[:crcAt])
		data[crcAt], data[crcAt+1], data[crcAt+2], data[crcAt+3] = byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24)
		if _, err := decodeManifest("f.manifest", data); err != nil {
			require.ErrorIs(t, err, kv.ErrCorrupt)
		}
	})
}

// Manifests of earlier versions still read: version 2 without segment keys
// and counts, version 1 without the first-log field either.
func TestOlderManifestsStillRead(t *testing.T) {
	m := sampleManifest()
	m.firstLog = m.flushedSeq + 1
	got, err := decodeManifest("v2.manifest", encodeOld(m, manifestMagicV2))
	require.NoError(t, err)
	require.Equal(t, withoutMeta(m), got)
	m.firstLog = 0
	got, err = decodeManifest("v1.manifest", encodeOld(m, manifestMagicV1))
	require.NoError(t, err)
	require.Equal(t, withoutMeta(m), got)
}

// rewriteManifest replaces the store's manifest in f by edit's version of it.
func rewriteManifest(t *testing.T, f fsadapter.FS, encode func(manifest) []byte, edit func(*manifest)) {
	t.Helper()
	names, err := f.ReadDir(".")
	require.NoError(t, err)
	var man string
	for _, n := range names {
		if strings.HasSuffix(n, ".manifest") {
			man = n
		}
	}
	data, err := f.ReadFile(man)
	require.NoError(t, err)
	m, err := decodeManifest(man, data)
	require.NoError(t, err)
	edit(&m)
	require.NoError(t, f.WriteFile(man, encode(m), false))
}

// writtenStore is a closed store on a memory filesystem with several
// segments, and the keys it holds.
func writtenStore(t *testing.T) (fsadapter.FS, Options, int) {
	t.Helper()
	f, err := memfs.New()
	require.NoError(t, err)
	opts := Options{MemtableBytes: 4 << 10, SegmentBytes: 2 << 10, BlockSize: 256}
	s, err := Open(f, opts)
	require.NoError(t, err)
	const n = 400
	for i := range n {
		b := &kv.Batch{}
		b.Set(fmt.Appendf(nil, "key%05d", i), fmt.Appendf(nil, "value-%d", i))
		require.NoError(t, s.Apply(b))
	}
	require.NoError(t, s.Compact())
	require.Greater(t, s.Stats().Segments, 3)
	require.NoError(t, s.Close())
	return f, opts, n
}

// A store whose manifest predates segment descriptions opens its segments
// at Open, as before, and reads everything.
func TestVersion2ManifestOpensSegmentsAtOpen(t *testing.T) {
	f, opts, n := writtenStore(t)
	rewriteManifest(t, f, func(m manifest) []byte { return encodeOld(m, manifestMagicV2) }, func(*manifest) {})
	s, err := Open(f, opts)
	require.NoError(t, err)
	for _, r := range s.cur {
		for _, sg := range r {
			require.NotNil(t, sg.r.Load(), "segment %s open", sg.name)
		}
	}
	for i := range n {
		v, err := s.Get(fmt.Appendf(nil, "key%05d", i))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("value-%d", i), string(v))
	}
	require.NoError(t, s.Close())
}

// A segment whose keys or counts are not what the manifest says is damage,
// found when the segment is opened by its first read.
func TestSegmentDisagreeingWithManifest(t *testing.T) {
	for name, edit := range map[string]func(*segMeta){
		"smallest key": func(m *segMeta) { m.smallest = append(bytes.Clone(m.smallest), 0) },
		"largest key":  func(m *segMeta) { m.largest = append(bytes.Clone(m.largest), 'z') },
		"entries":      func(m *segMeta) { m.entries++ },
		"tombstones":   func(m *segMeta) { m.tombstones = 1 },
	} {
		t.Run(name, func(t *testing.T) {
			f, opts, _ := writtenStore(t)
			var victim uint64
			rewriteManifest(t, f, encodeManifest, func(m *manifest) {
				ref := m.runs[0][1]
				victim = ref.num
				edit(ref.meta)
			})
			s, err := Open(f, opts)
			require.NoError(t, err, "nothing is read at open")
			err = s.Check()
			require.ErrorIs(t, err, kv.ErrCorrupt)
			require.Contains(t, err.Error(), segFileName(victim))
			require.NoError(t, s.Close())
		})
	}
}

// File names are the 20-digit zero-padded number and the suffix, as
// fmt.Sprintf("%020d%s") wrote them (files of existing stores must keep
// being found), and parse back to their number and kind.
func TestFileNames(t *testing.T) {
	for _, n := range []uint64{0, 1, 9, 10, 12345, 1<<32 + 7, 1<<63 - 1, 1<<64 - 1} {
		for _, c := range []struct {
			name string
			kind fileKind
			suf  string
		}{{logFileName(n), kindLog, logSuffix}, {segFileName(n), kindSeg, segSuffix}, {manifestFileName(n), kindManifest, manifestSuffix}} {
			require.Equal(t, fmt.Sprintf("%020d%s", n, c.suf), c.name)
			f, ok := parseFileName(c.name)
			require.True(t, ok, c.name)
			require.Equal(t, c.kind, f.kind, c.name)
			require.Equal(t, n, f.num, c.name)
		}
	}
}
