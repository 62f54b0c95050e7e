package bridge

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"minibase/engine"
	"minibase/fsadapter"
)

func TestInRootNamesTheRootOnce(t *testing.T) {
	locked := &engine.Error{Code: engine.CodeLocked, Msg: "open: LOCK is held by process 7: locked by another engine",
		Err: fmt.Errorf("LOCK is held by process 7: %w", fsadapter.ErrLocked)}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"locked", locked, "open /data/app: LOCK is held by process 7: locked by another engine"},
		{"wrapped", fmt.Errorf("x: %w", locked), "open /data/app: LOCK is held by process 7: locked by another engine"},
		{"not an open error", &engine.Error{Code: engine.CodeIO, Msg: "write: disk"}, "write: disk"},
		{"not an engine error", errors.New("plain"), "plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := inRoot("/data/app", tc.err)
			assert.Equal(t, tc.want, got.Error())
			assert.Equal(t, engine.CodeOf(tc.err), engine.CodeOf(got), "the code is kept")
		})
	}
	got := inRoot("/data/app", locked)
	assert.ErrorIs(t, got, fsadapter.ErrLocked, "the cause is kept")
	assert.Equal(t, "open: LOCK is held by process 7: locked by another engine", locked.Msg, "the engine's error is not changed")
}
