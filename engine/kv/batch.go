package kv

// Op is one write in a Batch.
type Op struct {
	Key    []byte
	Value  []byte // nil for a delete
	Delete bool
}

// Batch is an ordered list of writes applied atomically. When a key appears
// more than once the last write wins.
type Batch struct {
	Ops  []Op
	size int
}

// Set adds key=value. The batch keeps the slices: callers must not modify them.
func (b *Batch) Set(key, value []byte) {
	b.Ops = append(b.Ops, Op{Key: key, Value: value})
	b.size += len(key) + len(value)
}

// Delete adds a deletion of key.
func (b *Batch) Delete(key []byte) {
	b.Ops = append(b.Ops, Op{Key: key, Delete: true})
	b.size += len(key)
}

// Len is the number of writes.
func (b *Batch) Len() int { return len(b.Ops) }

// Size is the number of key and value bytes in the batch.
func (b *Batch) Size() int { return b.size }

// Reset empties the batch for reuse.
func (b *Batch) Reset() { b.Ops = b.Ops[:0]; b.size = 0 }
