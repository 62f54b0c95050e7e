//go:build js && wasm

package nodefs

import (
	"errors"
	"io/fs"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"minibase/fsadapter"
)

// What js/src/imports.js writes for a thrown value becomes the error
// newJSError makes of the same value (js/test/imports.test.mjs checks the
// JS half).
func TestParseHostError(t *testing.T) {
	tests := []struct {
		text    string
		code    string
		msg     string
		is      error
		noSpace bool
	}{
		{"ENOENT\nENOENT: no such file or directory, open 'x'", "ENOENT", "ENOENT: no such file or directory, open 'x'", fs.ErrNotExist, false},
		{"ENOSPC\nENOSPC: no space left on device, write", "ENOSPC", "ENOSPC: no space left on device, write", syscall.ENOSPC, true},
		{"EDQUOT\nEDQUOT: disk quota exceeded, write", "EDQUOT", "EDQUOT: disk quota exceeded, write", syscall.EDQUOT, true},
		{"EISDIR\nEISDIR: illegal operation on a directory, read", "EISDIR", "EISDIR: illegal operation on a directory, read", syscall.EISDIR, false},
		{"EIO\n", "EIO", "JavaScript exception EIO", syscall.EIO, false},
		{"ENOTRESIDENT\nopfs: /db/1.sst: its file is not open yet", "ENOTRESIDENT", "opfs: /db/1.sst: its file is not open yet", fsadapter.ErrNotResident, false},
		{"\nbad argument", "", "bad argument", nil, false},
		{"\nJavaScript exception: 42", "", "JavaScript exception: 42", nil, false},
		{"ERR_OUT_OF_RANGE\nThe value of \"fd\" is out of range.\nsecond line", "ERR_OUT_OF_RANGE", "The value of \"fd\" is out of range.\nsecond line", nil, false},
		{"", "", "JavaScript exception ", nil, false},
	}
	for _, tc := range tests {
		e := parseHostError([]byte(tc.text))
		assert.Equal(t, tc.code, e.code, "%q", tc.text)
		assert.Equal(t, tc.msg, e.Error(), "%q", tc.text)
		if tc.is != nil {
			assert.ErrorIs(t, e, tc.is, "%q", tc.text)
		}
		assert.Equal(t, tc.noSpace, errors.Is(e, fsadapter.ErrNoSpace), "%q", tc.text)
	}
}

// A failing import call is described through the import too: node's own
// error for a descriptor that is not open.
func TestHostErrorOfNode(t *testing.T) {
	var buf [8]byte
	_, err := readAt(1<<30, buf[:], 0)
	assert.ErrorIs(t, err, syscall.EBADF)
	_, err = write(1<<30, buf[:])
	assert.ErrorIs(t, err, syscall.EBADF)
	assert.ErrorIs(t, fsync(1<<30), syscall.EBADF)
}
