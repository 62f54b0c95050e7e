package sstable

// NewWriterV1 returns a writer of format version 1, which the Writer no
// longer writes: the reader's tests need such files.
func NewWriterV1(blockSize int) *Writer {
	w := NewWriter(blockSize, 0)
	w.v1 = true
	return w
}

// SetPartitionSize sets the target size of w's index partitions, so that
// tests get many partitions from small files.
func SetPartitionSize(w *Writer, n int) { w.partSize = n }

// Partitions is the number of index partitions of a version 2 file.
func (r *Reader) Partitions() int { return len(r.parts) }

// PartitionExtents are the offsets and sizes of a version 2 file's index
// and filter partitions.
func (r *Reader) PartitionExtents() (index, filter [][2]int64) {
	for _, p := range r.parts {
		index = append(index, [2]int64{p.index.off, int64(p.index.size)})
		filter = append(filter, [2]int64{p.filter.off, int64(p.filter.size)})
	}
	return index, filter
}
