package monitor

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

func enc(t testing.TB, v codec.Value) []byte {
	t.Helper()
	b, err := codec.Dumps(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func execPayload(t testing.TB) []byte {
	return enc(t, codec.Tuple{codec.Str("channel.send(1)"), codec.None{}, codec.None{}, emptyDict()})
}

type sent struct {
	from Side
	f    frame.Frame
}

// clean is a well-formed session: an execution, data both ways, a STATUS,
// a channel created by the worker, closes, terminate.
func clean(t testing.TB) []sent {
	return []sent{
		{Master, frame.Frame{Code: spec.MsgChannelExec, Channel: 1, Payload: execPayload(t)}},
		{Master, frame.Frame{Code: spec.MsgChannelData, Channel: 1, Payload: enc(t, codec.Str("hi"))}},
		{Worker, frame.Frame{Code: spec.MsgChannelData, Channel: 1, Payload: enc(t, codec.List{codec.Int(1), codec.ChannelRef(2)})}},
		{Worker, frame.Frame{Code: spec.MsgChannelData, Channel: 2, Payload: enc(t, codec.Int(5))}},
		{Worker, frame.Frame{Code: spec.MsgChannelClose, Channel: 2}},
		{Master, frame.Frame{Code: spec.MsgReconfigure, Channel: 1, Payload: enc(t, codec.Tuple{codec.Bool(false), codec.Bool(true)})}},
		{Master, frame.Frame{Code: spec.MsgChannelLastMessage, Channel: 1}},
		{Worker, frame.Frame{Code: spec.MsgChannelCloseError, Channel: 1, Payload: enc(t, codec.Str("Traceback ..."))}},
		{Master, frame.Frame{Code: spec.MsgStatus, Channel: 3}},
		{Worker, frame.Frame{Code: spec.MsgChannelData, Channel: 3, Payload: enc(t, emptyDict())}},
		{Worker, frame.Frame{Code: spec.MsgChannelClose, Channel: 3}},
		{Master, frame.Frame{Code: spec.MsgChannelExec, Channel: 5, Payload: execPayload(t)}},
		{Master, frame.Frame{Code: spec.MsgChannelClose, Channel: 5}},
		{Master, frame.Frame{Code: spec.MsgGatewayTerminate}},
	}
}

func checkAll(frames []sent) []Finding {
	c := NewChecker()
	n := map[Side]int{}
	var out []Finding
	for _, s := range frames {
		n[s.from]++
		_, fs := c.Frame(s.from, n[s.from], 0, s.f)
		out = append(out, fs...)
	}
	return out
}

func TestCheckerCleanSession(t *testing.T) {
	if fs := checkAll(clean(t)); len(fs) != 0 {
		t.Fatalf("findings on a clean session: %v", fs)
	}
}

func TestCheckerRules(t *testing.T) {
	ex := func(ch int32) sent {
		return sent{Master, frame.Frame{Code: spec.MsgChannelExec, Channel: ch, Payload: execPayload(t)}}
	}
	data := func(from Side, ch int32, v codec.Value) sent {
		return sent{from, frame.Frame{Code: spec.MsgChannelData, Channel: ch, Payload: enc(t, v)}}
	}
	code := func(from Side, c spec.MsgCode, ch int32, p []byte) sent {
		return sent{from, frame.Frame{Code: c, Channel: ch, Payload: p}}
	}
	for _, c := range []struct {
		name   string
		frames []sent
		clause string
	}{
		{"unknown code", []sent{code(Worker, spec.MsgCode(9), 1, nil)}, "FRM-CODE-1"},
		{"negative code", []sent{code(Master, spec.MsgCode(-3), 1, nil)}, "FRM-CODE-1"},
		{"close with payload", []sent{ex(1), code(Worker, spec.MsgChannelClose, 1, []byte{1})}, "FRM-CODE-2"},
		{"status with payload", []sent{code(Master, spec.MsgStatus, 1, []byte("x"))}, "FRM-CODE-2"},
		{"data on channel 0", []sent{data(Worker, 0, codec.Int(1))}, "CHAN-ID-3"},
		{"terminate on channel 1", []sent{code(Master, spec.MsgGatewayTerminate, 1, nil)}, "MSG-TERM-1"},
		{"frame after terminate", []sent{code(Master, spec.MsgGatewayTerminate, 0, nil), ex(1)}, "MSG-TERM-1"},
		{"worker terminates", []sent{code(Worker, spec.MsgGatewayTerminate, 0, nil)}, "MSG-TERM-3"},
		{"negative id", []sent{data(Master, -4, codec.Int(1))}, "CHAN-ID-1"},
		{"exec on even id", []sent{ex(2)}, "CHAN-ID-1"},
		{"status on even id", []sent{code(Master, spec.MsgStatus, 4, nil)}, "CHAN-ID-1"},
		{"exec id reused", []sent{ex(1), code(Master, spec.MsgChannelClose, 1, nil), ex(1)}, "CHAN-ID-2"},
		{"exec on an id of a reference", []sent{data(Master, 1, codec.ChannelRef(7)), ex(7)}, "MSG-EXEC-1"},
		{"status id reused", []sent{code(Master, spec.MsgStatus, 3, nil), code(Master, spec.MsgStatus, 3, nil)}, "MSG-STATUS-1"},
		{"data on a status id", []sent{code(Master, spec.MsgStatus, 3, nil), data(Master, 3, codec.Int(1))}, "MSG-STATUS-1"},
		{"reference to a status id", []sent{code(Master, spec.MsgStatus, 3, nil), ex(5), data(Master, 5, codec.ChannelRef(3))}, "MSG-STATUS-1"},
		{"data after close", []sent{ex(1), code(Worker, spec.MsgChannelClose, 1, nil), data(Worker, 1, codec.Int(1))}, "CHAN-STATE-9"},
		{"close after close error", []sent{ex(1), code(Worker, spec.MsgChannelCloseError, 1, enc(t, codec.Str("e"))), code(Worker, spec.MsgChannelClose, 1, nil)}, "CHAN-STATE-9"},
		{"data after last message", []sent{ex(1), code(Master, spec.MsgChannelLastMessage, 1, nil), data(Master, 1, codec.Int(1))}, "MSG-LAST-1"},
		{"undecodable data", []sent{ex(1), code(Worker, spec.MsgChannelData, 1, []byte{'F', 0, 0})}, "MSG-DATA-1"},
		{"undecodable data: class clause", []sent{ex(1), code(Worker, spec.MsgChannelData, 1, []byte{'F', 0, 0})}, spec.ClassClauses(spec.ClassTruncated)[0]},
		{"two values", []sent{ex(1), code(Worker, spec.MsgChannelData, 1, append(enc(t, codec.Int(1)), enc(t, codec.Int(2))...))}, "SER-WIRE-2"},
		{"two values: one per payload", []sent{ex(1), code(Worker, spec.MsgChannelData, 1, append(enc(t, codec.Int(1)), enc(t, codec.Int(2))...))}, "MSG-DATA-1"},
		{"undecodable exec", []sent{code(Master, spec.MsgChannelExec, 1, []byte{0xff})}, "SER-WIRE-1"},
		{"exec not a tuple", []sent{code(Master, spec.MsgChannelExec, 1, enc(t, codec.Str("x")))}, "MSG-EXEC-1"},
		{"exec kwargs not a dict", []sent{code(Master, spec.MsgChannelExec, 1, enc(t, codec.Tuple{codec.Str("x"), codec.None{}, codec.None{}, codec.List{}}))}, "MSG-EXEC-1"},
		{"reconfigure not bools", []sent{code(Master, spec.MsgReconfigure, 0, enc(t, codec.Tuple{codec.Int(0), codec.Bool(true)}))}, "MSG-RECONF-1"},
		{"close error not text", []sent{ex(1), code(Worker, spec.MsgChannelCloseError, 1, enc(t, codec.Int(3)))}, "MSG-CLOSEERR-1"},
		{"reference below 1", []sent{ex(1), data(Worker, 1, codec.ChannelRef(0))}, "CHAN-ID-7"},
	} {
		fs := checkAll(c.frames)
		found := false
		for _, f := range fs {
			if f.Clause == c.clause {
				found = true
				if f.Frame == 0 || f.From == "" || f.Message == "" {
					t.Errorf("%s: incomplete finding %+v", c.name, f)
				}
			}
		}
		if !found {
			t.Errorf("%s: no finding for [%s]; got %v", c.name, c.clause, fs)
		}
	}
}

// stream renders frames as the two byte streams of a popen session.
func stream(t testing.TB, frames []sent, handshake bool) (master, worker []byte) {
	if handshake {
		master = append(master, []byte("'import sys\\nprint(1)'\n")...)
		worker = append(worker, '1')
	}
	for _, s := range frames {
		if s.from == Master {
			master = frame.Append(master, s.f)
		} else {
			worker = frame.Append(worker, s.f)
		}
	}
	return master, worker
}

// feed writes the streams to a monitor in small pieces from two goroutines.
func feed(m *Monitor, master, worker []byte, piece int) []Finding {
	var wg sync.WaitGroup
	for side, b := range map[Side][]byte{Master: master, Worker: worker} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for len(b) > 0 {
				n := min(piece, len(b))
				m.Write(side, b[:n])
				b = b[n:]
			}
			m.Close(side)
		}()
	}
	wg.Wait()
	return m.Wait()
}

func TestMonitorCleanStream(t *testing.T) {
	for _, piece := range []int{1, 7, 1 << 20} {
		var events []Event
		m := New(Options{Handshake: true, OnEvent: func(e Event) { events = append(events, e) }})
		master, worker := stream(t, clean(t), true)
		if fs := feed(m, master, worker, piece); len(fs) != 0 {
			t.Fatalf("piece %d: findings %v", piece, fs)
		}
		kinds := map[string]int{}
		for _, e := range events {
			kinds[e.Kind]++
		}
		if kinds[EventBootstrap] != 1 || kinds[EventReady] != 1 || kinds[EventFrame] != len(clean(t)) || kinds[EventEnd] != 2 {
			t.Errorf("piece %d: events %v", piece, kinds)
		}
	}
}

func TestMonitorStreamFindings(t *testing.T) {
	cases := []struct {
		name           string
		master, worker []byte
		clause         string
	}{
		{"bad ready byte", []byte("'x'\n"), []byte("2"), "BOOT-HS-3"},
		{"no ready byte", []byte("'x'\n"), nil, "BOOT-HS-3"},
		{"line not a literal", []byte("import sys\n"), []byte("1"), "BOOT-HS-1"},
		{"line not ascii", []byte("'h\xc3\xa9'\n"), []byte("1"), "BOOT-HS-2"},
		{"no line end", []byte("'abc"), []byte("1"), "BOOT-HS-1"},
		{"negative length", []byte("'x'\n"), append([]byte("1"), 4, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff), "FRM-HDR-2"},
		{"short header", []byte("'x'\n"), append([]byte("1"), 4, 0, 0), "FRM-HDR-1"},
		{"short payload", append([]byte("'x'\n"), 4, 0, 0, 0, 1, 0, 0, 0, 9, 'L'), []byte("1"), "FRM-HDR-1"},
	}
	for _, c := range cases {
		m := New(Options{Handshake: true})
		fs := feed(m, c.master, c.worker, 3)
		found := false
		for _, f := range fs {
			found = found || f.Clause == c.clause
		}
		if !found {
			t.Errorf("%s: no [%s] finding; got %v", c.name, c.clause, fs)
		}
	}
}

// Text where a frame header belongs is judged by finding.Header, as the
// runner judges it: FRM-CODE-1 at once, and the stream is not followed
// further (its "length" of hundreds of megabytes is never waited for).
func TestMonitorTextAfterReadyByte(t *testing.T) {
	worker := append([]byte("1hello from the worker\n"), frame.Append(nil, frame.Frame{Code: spec.MsgChannelClose, Channel: 2})...)
	var ends []Event
	m := New(Options{Handshake: true, OnEvent: func(e Event) {
		if e.Kind == EventEnd && e.From == Worker {
			ends = append(ends, e)
		}
	}})
	m.Write(Worker, worker)
	m.Write(Master, []byte("'x'\n"))
	m.Close(Master)
	// The worker's side is not closed: the finding must come without
	// waiting for the end of its stream.
	deadline := time.Now().Add(10 * time.Second)
	for len(m.Findings()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	m.Close(Worker)
	fs := m.Wait()
	if len(fs) != 1 || fs[0].Clause != "FRM-CODE-1" || fs[0].Frame != 1 || fs[0].From != Worker ||
		!strings.Contains(fs[0].Message, "message code 104 is not 0 to 7") {
		t.Fatalf("findings %v, want one FRM-CODE-1 on worker frame 1", fs)
	}
	if len(ends) != 1 || ends[0].Err == nil {
		t.Errorf("end events %+v, want one with the finding as its error", ends)
	}
}

func TestFindingString(t *testing.T) {
	f := Finding{Clause: "CHAN-STATE-9", Level: "MUST", From: Worker, Frame: 12, Code: "CHANNEL_DATA", Channel: 3, Message: "after close"}
	want := "[CHAN-STATE-9] MUST worker frame 12 (CHANNEL_DATA ch=3): after close"
	if f.String() != want {
		t.Errorf("String() = %q, want %q", f.String(), want)
	}
	if !strings.Contains(hsFinding("BOOT-HS-3", Worker, "x").String(), "worker bootstrap") {
		t.Error("a bootstrap finding does not say so")
	}
}

func TestErrorClass(t *testing.T) {
	_, err := codec.Loads([]byte{'F', 0})
	if got := ErrorClass(err); got != spec.ClassTruncated {
		t.Errorf("ErrorClass(truncated) = %q", got)
	}
	if got := ErrorClass(fmt.Errorf("other")); got != "Unknown" {
		t.Errorf("ErrorClass(other) = %q", got)
	}
}

func Example() {
	m := New(Options{})
	var master, worker []byte
	payload, _ := codec.Dumps(codec.Tuple{codec.Str("channel.send(1)"), codec.None{}, codec.None{}, emptyDict()})
	master = frame.Append(master, frame.Frame{Code: spec.MsgChannelExec, Channel: 1, Payload: payload})
	worker = frame.Append(worker, frame.Frame{Code: spec.MsgChannelClose, Channel: 1})
	worker = frame.Append(worker, frame.Frame{Code: spec.MsgChannelClose, Channel: 1})
	m.Write(Master, master)
	m.Write(Worker, worker)
	m.Close(Master)
	m.Close(Worker)
	for _, f := range m.Wait() {
		fmt.Println(f)
	}
	// Output:
	// [CHAN-STATE-9] MUST worker frame 2 (CHANNEL_CLOSE ch=1): CHANNEL_CLOSE on channel 1 after this worker closed it
}

func emptyDict() *codec.Dict {
	d, _ := codec.NewDict()
	return d
}
