package memfs

// fileData is a file's bytes as a list of chunks, so that appending never
// moves what is already written: a slice grown by append copies the whole
// file each time it doubles, and in wasm (whose memory is never returned)
// the abandoned copies of a 40 MB log were what set the memory adapter's
// peak at several times its data.
type fileData struct {
	chunks [][]byte // each full to its capacity but the last
	size   int64
}

// Chunks start small (most files are a manifest or a short log) and double
// up to maxChunk.
const (
	minChunk = 4 << 10
	maxChunk = 1 << 20
)

// dataOf holds a copy of b as one chunk.
func dataOf(b []byte) fileData {
	if len(b) == 0 {
		return fileData{}
	}
	return fileData{chunks: [][]byte{append([]byte(nil), b...)}, size: int64(len(b))}
}

func (d *fileData) append(p []byte) {
	d.size += int64(len(p))
	for len(p) > 0 {
		last := len(d.chunks) - 1
		if last < 0 || len(d.chunks[last]) == cap(d.chunks[last]) {
			size := minChunk
			if last >= 0 {
				size = min(2*cap(d.chunks[last]), maxChunk)
			}
			d.chunks = append(d.chunks, make([]byte, 0, max(size, min(len(p), maxChunk))))
			last++
		}
		c := d.chunks[last]
		n := min(len(p), cap(c)-len(c))
		d.chunks[last] = append(c, p[:n]...)
		p = p[n:]
	}
}

// read copies size bytes at off (the caller has checked the bounds).
func (d *fileData) read(off int64, size int) []byte {
	return d.appendRange(make([]byte, 0, size), off, size)
}

// appendRange appends size bytes from off to out.
func (d *fileData) appendRange(out []byte, off int64, size int) []byte {
	for _, c := range d.chunks {
		if size == 0 {
			break
		}
		if off >= int64(len(c)) {
			off -= int64(len(c))
			continue
		}
		n := min(int64(size), int64(len(c))-off)
		out = append(out, c[off:off+n]...)
		off, size = 0, size-int(n)
	}
	return out
}

// truncate cuts the file to size bytes, or extends it with zeros. The chunk
// the cut falls in is copied: a later append must not write over bytes a
// reader was handed before (they were copies anyway, but the chunk's
// spare capacity is not the reader's to see).
func (d *fileData) truncate(size int64) {
	if size >= d.size {
		d.append(make([]byte, size-d.size))
		return
	}
	keep := size
	for i, c := range d.chunks {
		if keep <= int64(len(c)) {
			var chunks [][]byte
			chunks = append(chunks, d.chunks[:i]...)
			if keep > 0 {
				chunks = append(chunks, append([]byte(nil), c[:keep]...))
			}
			d.chunks, d.size = chunks, size
			return
		}
		keep -= int64(len(c))
	}
}
