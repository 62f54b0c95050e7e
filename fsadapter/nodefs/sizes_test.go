//go:build js && wasm

package nodefs_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter"
	"minibase/fsadapter/nodefs"
)

// A host with readdirSizesSync lists sizes in one call; node's own fs has
// none (ErrUnsupported: the caller stats each file); a malformed answer is
// an error, never a wrong size.
func TestReadDirSizes(t *testing.T) {
	plain, err := nodefs.NewHost(nodeFS(), t.TempDir())
	require.NoError(t, err)
	_, err = plain.(fsadapter.SizeLister).ReadDirSizes(".")
	assert.ErrorIs(t, err, errors.ErrUnsupported)

	tests := []struct {
		name   string
		answer string // the body of readdirSizesSync
		want   map[string]int64
	}{
		{"sizes", `return "12\ta.sst\n0\tb.log\n4096\tc d\n"`, map[string]int64{"a.sst": 12, "b.log": 0, "c d": 4096}},
		{"empty", `return ""`, map[string]int64{}},
		{"no tab", `return "12 a.sst\n"`, nil},
		{"not a number", `return "1x\ta.sst\n"`, nil},
		{"negative", `return "-1\ta.sst\n"`, nil},
		{"no name", `return "12\t\n"`, nil},
		{"not a string", `return 12`, nil},
		{"throws", `const e = new Error('ENOENT: no dir'); e.code = 'ENOENT'; throw e`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys, err := nodefs.NewHost(fakeModule("readdirSizesSync", tc.answer), t.TempDir())
			require.NoError(t, err)
			got, err := fsys.(fsadapter.SizeLister).ReadDirSizes(".")
			if tc.want == nil {
				assert.Error(t, err)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
