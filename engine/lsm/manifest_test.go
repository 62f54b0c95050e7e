package lsm

import (
	"bytes"
	"encoding/binary"
	"minibase/engine/checksum"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
)

func sampleManifest() manifest {
	return manifest{flushedSeq: 42, nextFile: 9, runs: [][]segRef{{{num: 7, size: 100}, {num: 8, size: 200}}, {{num: 3, size: 5000}}}}
}

func TestManifestRoundTrip(t *testing.T) {
	promising := sampleManifest()
	promising.firstLog = promising.flushedSeq + 1
	for _, m := range []manifest{{nextFile: 1}, sampleManifest(), promising} {
		got, err := decodeManifest("m", encodeManifest(m))
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
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
	for name, m := range map[string]manifest{
		"file number not below nextFile": {nextFile: 3, runs: [][]segRef{{{num: 3, size: 1}}}},
		"segment twice":                  {nextFile: 9, runs: [][]segRef{{{num: 3, size: 1}}, {{num: 3, size: 1}}}},
		"empty run":                      {nextFile: 9, runs: [][]segRef{{}}},
		"first log not after the flush":  {flushedSeq: 5, nextFile: 9, firstLog: 9},
	} {
		_, err := decodeManifest("rule.manifest", encodeManifest(m))
		require.ErrorIs(t, err, kv.ErrCorrupt, name)
	}
}

func FuzzManifest(f *testing.F) {
	f.Add(encodeManifest(sampleManifest()))
	f.Add(encodeManifest(manifest{nextFile: 1}))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeManifest("f.manifest", data)
		if err != nil {
			require.ErrorIs(t, err, kv.ErrCorrupt)
			return
		}
		require.Equal(t, data, encodeManifest(m), "one encoding per manifest")
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

// Manifests written before they promised logs (version 1) still open.
func TestManifestVersion1StillReads(t *testing.T) {
	m := sampleManifest()
	v2 := encodeManifest(m)
	// Version 1 is version 2 without the first-log field.
	body := append([]byte(manifestMagicV1), v2[8:24]...)
	body = append(body, v2[32:len(v2)-8]...)
	v1 := binary.LittleEndian.AppendUint32(body, checksum.Of(body))
	v1 = append(v1, manifestEndMagic...)
	got, err := decodeManifest("old.manifest", v1)
	require.NoError(t, err)
	require.Equal(t, m, got)
}
