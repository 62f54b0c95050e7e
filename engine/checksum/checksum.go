// Package checksum is the one checksum of every stored byte the engine
// verifies: log records, segment blocks and footers, manifests.
package checksum

import "hash/crc32"

// castagnoli is the CRC-32C table, which has hardware support on amd64 and
// arm64 and better error detection than IEEE for short records.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Of is the CRC-32C of p.
func Of(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }

// Update returns the checksum of the bytes summed into sum followed by p:
// Update(Of(a), b) == Of(a+b), for data that arrives in parts.
func Update(sum uint32, p []byte) uint32 { return crc32.Update(sum, castagnoli, p) }
