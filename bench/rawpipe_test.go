//go:build unix

package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRawPipeExcludesChildStart: the raw pipe's throughput is timed from
// the first bytes read, not from the child's start. The child here sleeps
// a second before it writes 16 MiB: counting the sleep would give at most
// 16 MiB/s; any pipe moves 16 MiB much faster than in the half second
// that 32 MiB/s allows.
func TestRawPipeExcludesChildStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	self := []string{"sh", "-c", `sleep 1; head -c $(($0 * $1)) /dev/zero`}
	mibps, _, err := RawPipe(ctx, self, 256, 64<<10, false)
	if err != nil {
		t.Fatal(err)
	}
	if mibps < 32 {
		t.Errorf("raw pipe: %.1f MiB/s, want more than 32 (the child's one-second start counted?)", mibps)
	}
}

// TestRawPipeBulkWritesLikeAGateway: the bulk limit moves the same bytes
// in writes of at least bulkPipeWrite (a gateway batches 1 KiB frames into
// larger writes; one write per 1 KiB item put the "limit" below the
// gateways in the chart).
func TestRawPipeBulkWritesLikeAGateway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sizes := filepath.Join(t.TempDir(), "sizes")
	script := `case "$0" in
bench-pipe-echo) exec cat ;;
*) echo "$2" >>` + sizes + `; head -c $(($1 * $2)) /dev/zero ;;
esac`
	w := Workload{RoundTrips: 10, OneWay: OneWay{Count: 10, Size: 16},
		Bulk: []BulkRun{{Size: 1 << 10, Bytes: 1 << 20}, {Size: 1 << 20, Bytes: 2 << 20}}, Repeats: 1}
	f, err := measurePipe(ctx, []string{"sh", "-c", script}, w, false)
	if err != nil {
		t.Fatal(err)
	}
	if f.BulkMiBps["1024"] <= 0 || f.BulkMiBps["1048576"] <= 0 {
		t.Errorf("bulk figures missing: %v", f.BulkMiBps)
	}
	data, err := os.ReadFile(sizes)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, s := range strings.Fields(string(data)) {
		got[s] = true
	}
	if got["1024"] || !got["65536"] || !got["1048576"] || !got["16"] {
		t.Errorf("raw pipe write sizes %v, want 65536 for 1 KiB items, 1048576 for 1 MiB items, 16 for one-way", got)
	}
}
