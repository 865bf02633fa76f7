package trace

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/execnet-conform/execnet-conform/conformance/monitor"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	start := time.Now()
	w := NewWriter(&buf, start, "test", []string{"python3", "-u"})
	payload, _ := codec.Dumps(codec.Str("<hé>"))
	f := frame.Frame{Code: spec.MsgChannelData, Channel: 3, Payload: payload}
	w.Event(monitor.Event{Kind: monitor.EventBootstrap, From: monitor.Master, At: start, Line: []byte("'src'")})
	w.Event(monitor.Event{Kind: monitor.EventReady, From: monitor.Worker, At: start, Byte: '1'})
	w.Event(monitor.Event{Kind: monitor.EventFrame, From: monitor.Worker, At: start.Add(time.Millisecond), Index: 1, Frame: f,
		Decoded:  monitor.Decoded{Value: codec.Str("<hé>")},
		Findings: []monitor.Finding{{Clause: "CHAN-STATE-9", From: monitor.Worker, Frame: 1, Message: "m"}}})
	w.Event(monitor.Event{Kind: monitor.EventFrame, From: monitor.Master, Index: 1, Frame: frame.Frame{Code: spec.MsgCode(-2), Channel: 0}})
	w.Exit("exit status 0")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"repr":"'<hé>'"`) {
		t.Errorf("repr escaped or missing:\n%s", buf.String())
	}
	tr, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Header.Tool != "test" || len(tr.Header.Argv) != 2 {
		t.Errorf("header %+v", tr.Header)
	}
	var kinds []string
	for _, r := range tr.Records {
		kinds = append(kinds, r.Kind)
	}
	if got := strings.Join(kinds, ","); got != "bootstrap,ready,frame,finding,frame,exit,summary" {
		t.Errorf("kinds %s", got)
	}
	back, err := tr.Records[2].Frame()
	if err != nil || back.Code != f.Code || back.Channel != 3 || !bytes.Equal(back.Payload, payload) {
		t.Errorf("frame back: %v %v", back, err)
	}
	if tr.Records[2].Micros != 1000 {
		t.Errorf("t_us = %d, want 1000", tr.Records[2].Micros)
	}
	unk, err := tr.Records[4].Frame()
	if err != nil || unk.Code != spec.MsgCode(-2) {
		t.Errorf("unknown code back: %v %v", unk, err)
	}
	if fs := tr.Findings(); len(fs) != 1 || fs[0].Clause != "CHAN-STATE-9" {
		t.Errorf("findings %v", fs)
	}
	sum := tr.Records[len(tr.Records)-1]
	if *sum.Findings != 1 || sum.Frames[monitor.Worker] != 1 || sum.Frames[monitor.Master] != 1 {
		t.Errorf("summary %+v", sum)
	}
	line, _ := tr.Records[0].BootstrapLine()
	if string(line) != "'src'" {
		t.Errorf("bootstrap line %q", line)
	}
}

func TestTruncatedFrameIsNotReplayable(t *testing.T) {
	r := FrameRecord(0, monitor.Master, 1, 0, frame.Frame{Code: spec.MsgChannelData, Channel: 1, Payload: make([]byte, 100)}, monitor.Decoded{}, 10)
	if !r.Truncated || len(r.Hex) != 20 {
		t.Fatalf("record %+v", r)
	}
	if _, err := r.Frame(); !errors.Is(err, ErrFormat) {
		t.Errorf("Frame() of a truncated record: %v", err)
	}
}

func TestReadErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":        "",
		"not json":     "hello\n",
		"no header":    `{"kind":"frame"}` + "\n",
		"other schema": `{"schema":"execnet-conform/trace/v9","kind":"header"}` + "\n",
		"bad line":     `{"schema":"execnet-conform/trace/v1","kind":"header"}` + "\n{\n",
	} {
		if _, err := Read(strings.NewReader(in)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
}
