package gateway

import (
	"context"
	"encoding/hex"
	"io"
	"testing"
	"time"
)

// FuzzWorkerStream feeds arbitrary bytes to a worker (or master) gateway as its input
// stream. Whatever arrives, the gateway must not panic, must drain or
// reject it, and Serve must return within its bounds.
func FuzzWorkerStream(f *testing.F) {
	for _, s := range []string{
		"00000000030000000",
		"030000000100000010" + "4e00000004" + hex.EncodeToString([]byte("echo")) + "4c4c4a400000000451" +
			"04000000010000000646000000295105000000010000000002000000000000000000",
		"0100000000000000084343400000000251",
		"0400000001000000064600000029510600000001000000054e0000000051",
		"0700000002000000000500000063000000000900000000000000",
		"04000000017fffffff46",
		"0400000001000000024b", // unfinished list
		"030000000300000006460000000151",
		"03000000050000001e4e0000000570616e69634c4c4a4000000004514e",
	} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		role := Worker
		if len(data) > 0 && data[len(data)-1]&0x80 != 0 {
			role = Master // the last byte's high bit picks the role
		}
		mc, wc := pipePair(t)
		w := New(wc, role, WithExecutor(testExecutor), WithExecGrace(20*time.Millisecond))
		if role == Master {
			w.NewChannel() // channel 1 exists, so its frames are decoded
		}
		drained := make(chan struct{})
		go func() { io.Copy(io.Discard, mc.r); close(drained) }()
		mc.w.Write(data)
		mc.w.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		w.Serve(ctx)
		wc.Close()
		<-drained
		mc.r.Close()
	})
}
