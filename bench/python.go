package bench

import (
	"bytes"
	"context"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
)

//go:embed py/*.py
var pyScripts embed.FS

// PyCodecResult is Python execnet's time per call for one value.
type PyCodecResult struct {
	Name    string  `json:"name"`
	Bytes   int     `json:"bytes"`
	DumpsNs float64 `json:"dumps_ns"`
	LoadsNs float64 `json:"loads_ns"`
}

// PyCodecReport is the output of one Python codec timing run.
type PyCodecReport struct {
	Implementation string          `json:"implementation"`
	Results        []PyCodecResult `json:"results"`
}

// WireValue is a named value in wire form.
type WireValue struct {
	Name string
	Wire []byte
}

// PythonCodec times execnet's dumps_internal and loads_internal in the
// interpreter python on the given values, spending about budget seconds
// per value and direction.
func PythonCodec(ctx context.Context, python string, values []WireValue, budget float64) (*PyCodecReport, error) {
	script, err := pyScripts.ReadFile("py/codec_bench.py")
	if err != nil {
		return nil, err
	}
	type wv struct {
		Name string `json:"name"`
		Hex  string `json:"hex"`
	}
	req := struct {
		Values []wv    `json:"values"`
		Budget float64 `json:"budget"`
	}{Budget: budget}
	for _, v := range values {
		req.Values = append(req.Values, wv{v.Name, hex.EncodeToString(v.Wire)})
	}
	in, _ := json.Marshal(req)
	cmd := exec.CommandContext(ctx, python, "-c", string(script))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s codec timing: %w: %s", python, err, stderr.String())
	}
	var rep PyCodecReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("%s codec timing output: %w", python, err)
	}
	return &rep, nil
}
