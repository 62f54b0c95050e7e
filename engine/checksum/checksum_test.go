package checksum

import "testing"

// The stored format depends on these values: a different polynomial or
// initial value would make every existing file unreadable.
func TestKnownValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
	}{
		{"", 0},
		{"123456789", 0xe3069283}, // the CRC-32C check value
	} {
		if got := Of([]byte(tc.in)); got != tc.want {
			t.Errorf("Of(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

func TestUpdateContinuesASum(t *testing.T) {
	whole := []byte("a log record that arrives in three parts")
	for cut1 := 0; cut1 <= len(whole); cut1 += 7 {
		for cut2 := cut1; cut2 <= len(whole); cut2 += 5 {
			sum := Update(Update(Update(0, whole[:cut1]), whole[cut1:cut2]), whole[cut2:])
			if sum != Of(whole) {
				t.Fatalf("parts at %d, %d: %#x, want %#x", cut1, cut2, sum, Of(whole))
			}
		}
	}
}
