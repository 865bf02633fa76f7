package gateway_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/gateway"
)

func TestStatusFormat(t *testing.T) {
	raw, err := codec.NewDict(
		codec.Item{Key: codec.Str("numchannels"), Value: codec.Int(2)},
		codec.Item{Key: codec.Str("numexecuting"), Value: codec.Int(1)},
		codec.Item{Key: codec.Str("execmodel"), Value: codec.Str("thread")},
	)
	if err != nil {
		t.Fatal(err)
	}
	st := gateway.Status{NumChannels: 2, NumExecuting: 1, ExecModel: "thread", Raw: raw}
	want := "{NumChannels:2 NumExecuting:1 ExecModel:thread Raw:{'numchannels': 2, 'numexecuting': 1, 'execmodel': 'thread'}}"
	for _, verb := range []string{"%v", "%+v", "%s"} {
		if got := fmt.Sprintf(verb, st); got != want {
			t.Errorf("Sprintf(%q, status) = %s, want %s", verb, got, want)
		}
	}
	if got := fmt.Sprintf("%+v", gateway.Status{}); strings.Contains(got, "0x") || !strings.Contains(got, "Raw:<nil>") {
		t.Errorf("zero Status prints %s", got)
	}
}
