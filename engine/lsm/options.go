package lsm

// Durability says what a returned Apply guarantees.
type Durability int

const (
	// Normal acknowledges a commit once its log record is handed to the
	// backend: it survives the process being killed, not necessarily power
	// loss. Like SQLite's WAL mode with synchronous=NORMAL.
	Normal Durability = iota
	// Strict also syncs every log record and checkpoint to stable storage
	// before acknowledging, where the backend can sync.
	Strict
)

// Defaults for zero Options fields.
const (
	DefaultLogFileSize     = 4 << 20
	DefaultCheckpointBytes = 8 << 20
)

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Dir is the directory inside the adapter holding the store's files;
	// empty means the adapter's root. It is created when missing.
	Dir string
	// Durability chooses between Normal (default) and Strict.
	Durability Durability
	// LogFileSize is the size past which an appendable log file is closed and
	// the next commit starts a new one. Default DefaultLogFileSize.
	LogFileSize int64
	// CheckpointBytes is how many log bytes may accumulate before the store
	// writes a checkpoint; the store waits for at least the live data size, so
	// rewriting everything costs at most about as much as the logging did.
	// Default DefaultCheckpointBytes.
	CheckpointBytes int64
}

func (o Options) withDefaults() Options {
	if o.LogFileSize <= 0 {
		o.LogFileSize = DefaultLogFileSize
	}
	if o.CheckpointBytes <= 0 {
		o.CheckpointBytes = DefaultCheckpointBytes
	}
	return o
}
