package lsm

import (
	"fmt"
	"strconv"
	"strings"
)

// File names are a 20-digit zero-padded sequence number and a kind suffix,
// so that sorting names sorts files by sequence number. A log is named after
// the sequence number of its first record, a checkpoint after the last
// sequence number it contains.
const (
	logSuffix  = ".log"
	ckptSuffix = ".ckpt"
	numDigits  = 20
)

func logFileName(seq uint64) string  { return fmt.Sprintf("%020d%s", seq, logSuffix) }
func ckptFileName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, ckptSuffix) }

// fileKind tells log files from checkpoints.
type fileKind int

const (
	kindLog fileKind = iota + 1
	kindCkpt
)

// dataFile is a log or checkpoint found in the directory.
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
	switch {
	case strings.HasSuffix(name, logSuffix):
		kind, digits = kindLog, strings.TrimSuffix(name, logSuffix)
	case strings.HasSuffix(name, ckptSuffix):
		kind, digits = kindCkpt, strings.TrimSuffix(name, ckptSuffix)
	default:
		return dataFile{}, false
	}
	if len(digits) != numDigits {
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
