package lsm

import (
	"strconv"
	"strings"
)

// File names are a 20-digit zero-padded number and a kind suffix, so that
// sorting names sorts files by number. A log is named after the sequence
// number of its first record; segments and manifests take numbers from one
// counter the manifest carries, so a newer file always has a larger number.
const (
	logSuffix      = ".log"
	segSuffix      = ".sst"
	manifestSuffix = ".manifest"
	ckptSuffix     = ".ckpt" // version 1 checkpoints; recognized only to refuse them
	numDigits      = 20
)

func logFileName(seq uint64) string      { return fileName(seq, logSuffix) }
func segFileName(num uint64) string      { return fileName(num, segSuffix) }
func manifestFileName(num uint64) string { return fileName(num, manifestSuffix) }

// fileName is fmt.Sprintf("%020d%s", n, suffix) without fmt, which under
// wasm made naming a large store's segments at open a few milliseconds.
func fileName(n uint64, suffix string) string {
	b := make([]byte, numDigits, numDigits+len(suffix))
	for i := numDigits - 1; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(append(b, suffix...))
}

// fileKind tells the store's files apart.
type fileKind int

const (
	kindLog fileKind = iota + 1
	kindSeg
	kindManifest
	kindCkpt
)

// dataFile is a store file found in the directory.
type dataFile struct {
	name string
	kind fileKind
	num  uint64
}

// parseFileName recognizes the store's own files; anything else is ignored,
// so other files may share the directory.
func parseFileName(name string) (dataFile, bool) {
	var kind fileKind
	var digits string
	for _, k := range []struct {
		suffix string
		kind   fileKind
	}{{logSuffix, kindLog}, {segSuffix, kindSeg}, {manifestSuffix, kindManifest}, {ckptSuffix, kindCkpt}} {
		if strings.HasSuffix(name, k.suffix) {
			kind, digits = k.kind, strings.TrimSuffix(name, k.suffix)
			break
		}
	}
	if kind == 0 || len(digits) != numDigits {
		return dataFile{}, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return dataFile{}, false
		}
	}
	num, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return dataFile{}, false
	}
	return dataFile{name: name, kind: kind, num: num}, true
}
