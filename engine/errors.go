package engine

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/fsadapter"
)

// Code is a stable error code. The JS wrapper exposes it as MinibaseError.code;
// codes never change meaning once published.
type Code string

// The error codes.
const (
	CodeUniqueViolation  Code = "UNIQUE_VIOLATION"
	CodeNotNullViolation Code = "NOT_NULL_VIOLATION"
	CodeTypeMismatch     Code = "TYPE_MISMATCH"
	CodeNoSuchDatabase   Code = "NO_SUCH_DATABASE"
	CodeNoSuchTable      Code = "NO_SUCH_TABLE"
	CodeNoSuchColumn     Code = "NO_SUCH_COLUMN"
	CodeNoSuchIndex      Code = "NO_SUCH_INDEX"
	CodeAlreadyExists    Code = "ALREADY_EXISTS"
	CodeBadQuery         Code = "BAD_QUERY"
	CodeBadValue         Code = "BAD_VALUE"
	CodeTooLarge         Code = "TOO_LARGE"
	CodeTxClosed         Code = "TX_CLOSED"
	CodeTxConflict       Code = "TX_CONFLICT"
	CodeCorrupt          Code = "CORRUPT"
	CodeClosed           Code = "CLOSED"
	CodeQuotaExceeded    Code = "QUOTA_EXCEEDED"
	CodeLocked           Code = "LOCKED"
	CodeIO               Code = "IO"
	CodeInternal         Code = "INTERNAL"
	CodeWrongSecret      Code = "WRONG_SECRET"
	CodeDecryptFailed    Code = "DECRYPT_FAILED"
	CodeNoSecret         Code = "NO_SECRET"
	CodeSchemaMismatch   Code = "SCHEMA_MISMATCH"
	CodeVersionTooNew    Code = "VERSION_TOO_NEW"
	CodeSyncSchema       Code = "SYNC_SCHEMA"
)

// Error is an engine error: a stable code and a message that says what and
// where. Match it with errors.Is against the sentinels below.
type Error struct {
	Code Code
	Msg  string
	Err  error // the underlying cause, if any
}

// Error returns the message (or the bare code when there is none).
func (e *Error) Error() string {
	if e.Msg == "" {
		return string(e.Code)
	}
	return e.Msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUniqueViolation) true for every error of that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Code == e.Code
}

// Sentinels, one per code, for errors.Is.
var (
	// ErrUniqueViolation is returned when a write would give two rows the same
	// primary key or the same value in a unique index.
	ErrUniqueViolation = &Error{Code: CodeUniqueViolation}
	// ErrNotNullViolation is returned when a notNull column would hold null.
	ErrNotNullViolation = &Error{Code: CodeNotNullViolation}
	// ErrTypeMismatch is returned when a value does not fit its column's type.
	ErrTypeMismatch = &Error{Code: CodeTypeMismatch}
	// ErrNoSuchDatabase is returned when a named database does not exist.
	ErrNoSuchDatabase = &Error{Code: CodeNoSuchDatabase}
	// ErrNoSuchTable is returned when a named table does not exist.
	ErrNoSuchTable = &Error{Code: CodeNoSuchTable}
	// ErrNoSuchColumn is returned when a named column does not exist.
	ErrNoSuchColumn = &Error{Code: CodeNoSuchColumn}
	// ErrNoSuchIndex is returned when a named index does not exist.
	ErrNoSuchIndex = &Error{Code: CodeNoSuchIndex}
	// ErrAlreadyExists is returned when creating something that exists.
	ErrAlreadyExists = &Error{Code: CodeAlreadyExists}
	// ErrBadQuery is returned for a malformed request: unknown operator,
	// wrong argument shape, invalid name or schema.
	ErrBadQuery = &Error{Code: CodeBadQuery}
	// ErrBadValue is returned for a value that cannot be stored at all.
	ErrBadValue = &Error{Code: CodeBadValue}
	// ErrTooLarge is returned when a row or key exceeds its size limit.
	ErrTooLarge = &Error{Code: CodeTooLarge}
	// ErrTxClosed is returned when using a committed or rolled-back transaction.
	ErrTxClosed = &Error{Code: CodeTxClosed}
	// ErrTxConflict is returned by Commit when another commit wrote the same
	// keys (or changed the schema of a written table) after the transaction began.
	ErrTxConflict = &Error{Code: CodeTxConflict}
	// ErrCorrupt is returned when stored data fails its checks.
	ErrCorrupt = &Error{Code: CodeCorrupt}
	// ErrClosed is returned when using a closed connection.
	ErrClosed = &Error{Code: CodeClosed}
	// ErrQuotaExceeded is returned when the backend is out of space.
	ErrQuotaExceeded = &Error{Code: CodeQuotaExceeded}
	// ErrLocked is returned by Open when another live process has the
	// database open.
	ErrLocked = &Error{Code: CodeLocked}
	// ErrWrongSecret is returned when opening an encrypted store with a
	// secret other than the one it was created with.
	ErrWrongSecret = &Error{Code: CodeWrongSecret}
	// ErrDecryptFailed is returned when an encrypted value fails its
	// authentication: tampered with, or moved to another key.
	ErrDecryptFailed = &Error{Code: CodeDecryptFailed}
	// ErrNoSecret is returned when encrypting or decrypting a value in a
	// store opened without a secret.
	ErrNoSecret = &Error{Code: CodeNoSecret}
	// ErrSchemaMismatch is returned when a declared schema differs from the
	// stored one in a way no migration step covers.
	ErrSchemaMismatch = &Error{Code: CodeSchemaMismatch}
	// ErrVersionTooNew is returned when the stored schema version is newer
	// than the one the app declares (an older app on a newer database), and
	// for a backup file of a newer format.
	ErrVersionTooNew = &Error{Code: CodeVersionTooNew}
	// ErrSyncSchema is returned when a migration would change a synced
	// table's shape in a way that is not additive.
	ErrSyncSchema = &Error{Code: CodeSyncSchema}
)

// maxMsgArg bounds how much of a caller's string an error message repeats:
// a 4 MB table name must not become a 4 MB message.
const maxMsgArg = 100

func errorf(code Code, format string, args ...any) error {
	for i, a := range args {
		if s, ok := a.(string); ok && len(s) > maxMsgArg {
			cut := maxMsgArg
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			args[i] = s[:cut] + "…"
		}
	}
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of any error the engine returns: its own, or the
// one a storage error maps to.
func CodeOf(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, kv.ErrCorrupt), errors.Is(err, fsadapter.ErrCorrupt):
		return CodeCorrupt
	case errors.Is(err, kv.ErrClosed):
		return CodeClosed
	case errors.Is(err, fsadapter.ErrNoSpace):
		return CodeQuotaExceeded
	case errors.Is(err, fsadapter.ErrLocked):
		return CodeLocked
	case errors.Is(err, lsm.ErrNotStore):
		return CodeBadQuery
	}
	return CodeIO
}

// storageErr gives a storage-layer error its engine code, keeping the cause.
func storageErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Code: CodeOf(err), Msg: op + ": " + err.Error(), Err: err}
}
