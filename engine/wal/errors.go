package wal

import "errors"

// ErrTorn is returned (wrapped with the file name and offset) by Reader.Next
// when the rest of the file is one incomplete or damaged record that runs to
// the end of the file: the trace of a write cut short, which was therefore
// never acknowledged. Reader.Offset then gives the length of the valid prefix.
var ErrTorn = errors.New("wal: torn record at end of file")
