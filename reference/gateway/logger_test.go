package gateway

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/internal/syncbuf"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// MSG-CLOSEERR-4: the error text of a CHANNEL_CLOSE_ERROR for a channel the
// gateway does not hold is logged, and the connection goes on.
func TestLoggerReportsDroppedFrames(t *testing.T) {
	text, err := codec.Dumps(codec.Str("ValueError: boom on 9"))
	if err != nil {
		t.Fatal(err)
	}
	item, err := codec.Dumps(codec.Int(42))
	if err != nil {
		t.Fatal(err)
	}
	var stream []byte
	stream = frame.Append(stream, frame.Frame{Code: spec.MsgChannelCloseError, Channel: 9, Payload: text})
	stream = frame.Append(stream, frame.Frame{Code: spec.MsgChannelData, Channel: 11, Payload: item})
	stream = frame.Append(stream, frame.Frame{Code: spec.MsgChannelData, Channel: 1, Payload: item})
	var logs syncbuf.Buffer
	c := newFixedConn(stream)
	g := New(c, Master, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	defer func() { c.Close(); <-g.Done() }()
	ch := g.NewChannel()
	close(c.start)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if v, err := ch.Receive(ctx); err != nil || !codec.Identical(v, codec.Int(42)) {
		t.Fatalf("Receive = %v, %v; want 42 after the dropped frames", v, err)
	}
	out := logs.String()
	for _, want := range []string{"level=WARN", "channel=9", `text="ValueError: boom on 9"`, "level=DEBUG", "channel=11"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
