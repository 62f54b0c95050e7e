package lsm

// Durability says what a returned Apply guarantees.
type Durability int

const (
	// Normal acknowledges a commit once its log record is handed to the
	// backend: it survives the process being killed, not necessarily power
	// loss. Like SQLite's WAL mode with synchronous=NORMAL.
	Normal Durability = iota
	// Strict also syncs every log record, segment and manifest to stable
	// storage before relying on it, where the backend can sync.
	Strict
)

// Defaults for zero Options fields.
const (
	DefaultLogFileSize   = 4 << 20
	DefaultMemtableBytes = 4 << 20
	DefaultSegmentBytes  = 4 << 20
	// DefaultSegmentBytesWhole is the default segment size on backends
	// without RangeReader.
	DefaultSegmentBytesWhole = 1 << 20
	DefaultCacheBytes        = 8 << 20
	DefaultMaxLogFiles       = 256
	// DefaultCheckpointBytes is the version 1 name of DefaultMemtableBytes.
	DefaultCheckpointBytes = DefaultMemtableBytes
)

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Dir is the directory inside the adapter holding the store's files;
	// empty means the adapter's root. It is created when missing.
	Dir string
	// AdoptDir lets Open create a store in a directory that already holds
	// other files. Without it such a directory fails Open with ErrNotStore
	// (an empty directory, or one holding a store, is fine).
	AdoptDir bool
	// Durability chooses between Normal (default) and Strict.
	Durability Durability
	// LogFileSize is the size past which an appendable log file is closed and
	// the next commit starts a new one. Default DefaultLogFileSize.
	LogFileSize int64
	// MemtableBytes is how many log bytes the memtable may collect before it
	// is flushed to a segment file and the logs are deleted. It bounds both
	// the memory the memtable holds and the log replayed on open. Default
	// DefaultMemtableBytes.
	MemtableBytes int64
	// CheckpointBytes is the version 1 name of MemtableBytes, used when
	// MemtableBytes is zero.
	CheckpointBytes int64
	// SegmentBytes is the size at which flushes and compactions start a new
	// segment file. Default DefaultSegmentBytes or half of MemtableBytes,
	// whichever is smaller (at least DefaultSegmentBytesWhole), or
	// DefaultSegmentBytesWhole on a backend without range reads
	// (RangeReader), where reading one block costs reading its whole file.
	SegmentBytes int64
	// CacheBytes bounds the block cache. Default DefaultCacheBytes; negative
	// disables caching.
	CacheBytes int64
	// IndexBytes bounds the memory open segments hold for their indexes
	// and bloom filters (Stats.IndexBytes): past it the least recently
	// read segments are closed, to be opened again on their next read.
	// The segment being read always stays open, whatever the limit.
	// Default CacheBytes (DefaultCacheBytes when caching is disabled).
	IndexBytes int64
	// MaxLogFiles makes the store flush once this many log files exist, so a
	// backend without cheap appends (one file per commit) never collects
	// thousands of tiny files. Default DefaultMaxLogFiles.
	MaxLogFiles int
	// BlockSize is the target size of a data block in segment files.
	// Default sstable.DefaultBlockSize.
	BlockSize int
	// CompactInSteps leaves every merge of runs to CompactStep, which the
	// caller runs between commits (after a write, when idle), instead of
	// running it inside the Apply whose flush called for it. For backends
	// that load segment bytes on demand and only so many per call
	// (IndexedDB): a merge larger than that can only be done in steps, and
	// a commit is then acknowledged without waiting for any merge. Runs
	// pile up while nobody calls CompactStep.
	CompactInSteps bool

	// Pinned are keys whose value the store keeps in its manifest as well
	// as in its segments, so that a Get of one reads no segment (unless
	// the value is over 64 KB): for a few small keys every open reads,
	// such as a catalog.
	Pinned [][]byte
}

func (o Options) withDefaults() Options {
	if o.LogFileSize <= 0 {
		o.LogFileSize = DefaultLogFileSize
	}
	if o.MemtableBytes <= 0 {
		o.MemtableBytes = o.CheckpointBytes
	}
	if o.MemtableBytes <= 0 {
		o.MemtableBytes = DefaultMemtableBytes
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.IndexBytes <= 0 {
		o.IndexBytes = o.CacheBytes
		if o.IndexBytes <= 0 {
			o.IndexBytes = DefaultCacheBytes
		}
	}
	if o.MaxLogFiles <= 0 {
		o.MaxLogFiles = DefaultMaxLogFiles
	}
	return o
}
