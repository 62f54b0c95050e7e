package faultfs

import "errors"

// ErrCrashed is returned (wrapped) by every operation from the simulated
// crash on: by the operation CrashAt or TearAt named, by everything after it
// until Reset, and forever by AppendFiles opened before the crash.
var ErrCrashed = errors.New("faultfs: crashed")

// ErrInjected is returned (wrapped) by an operation FailAt or FailFrom made
// fail when they were given a nil error.
var ErrInjected = errors.New("faultfs: injected failure")
