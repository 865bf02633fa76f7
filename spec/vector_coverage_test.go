package spec

import (
	"encoding/json"
	"sort"
	"testing"

	execnetconform "github.com/execnet-conform/execnet-conform"
)

// noVectorRows lists the rows of SPEC.md Appendix B that cannot be golden
// codec vectors (testdata/vectors/vectors.json holds byte strings given to
// a decoder or produced by an encoder), with the reason.
var noVectorRows = map[string]string{
	"DEV-3":  "public format byte: which byte is right depends on the execnet version; the untagged versioned/v2 vectors record 1.9 refusing format 2",
	"DEV-6":  "frame level: a negative payload length in a frame header",
	"DEV-7":  "frame level: unknown and negative message codes",
	"DEV-8":  "message level: the sender's CHANNEL_CLOSE_ERROR payload type",
	"DEV-10": "host API: which Python types the encoder accepts, outside the wire format",
	"DEV-14": "message level: RECONFIGURE for a channel the receiver does not hold",
	"DEV-15": "XSpec strings, not the codec",
	"DEV-16": "message level: the CHANNEL_CLOSE_ERROR assertion of 2.1.2 and main",
	"DEV-19": "message level: STATUS sent to a master",
	"DEV-20": "message level: a RECONFIGURE payload that is not two bools",
	"DEV-23": "frame level: the payload buffer allocated for a declared frame length",
	"DEV-40": "termination: a queued execution dropped at shutdown delays the end of the connection",
	"DEV-41": "host API: the public dumps given a channel object; the bytes it writes are the ordinary CHANNEL vector",
	"DEV-42": "message level: an undecodable CHANNEL_DATA for a channel with a callback",
	"DEV-43": "diagnostics: where a fatal protocol error is reported",
	"DEV-44": "channel state: CHANNEL_CLOSE after CHANNEL_LAST_MESSAGE",
	"DEV-45": "channel state: RECONFIGURE sent on a closed channel",
	"DEV-46": "channel ids past 2^31-1",
	"DEV-47": "bootstrap: the master's check of the ready byte",
	"DEV-48": "ssh command line",
	"DEV-49": "socket server bind address",
	"DEV-50": "master-side process termination",
	"DEV-51": "message level: a CHANNEL reference resolved with a channel context (the vectors decode without one)",
	"DEV-52": "message level: the shape of a CHANNEL_EXEC payload",
	"DEV-53": "channel state: a finaliser's CHANNEL_CLOSE for a rebuilt channel object, sent whenever the object is freed",
	"DEV-54": "channel state: a race between the receiver thread and an ending execution",
	"DEV-55": "the rsync profile: a receiver's file system effects (the protocol's items are ordinary values)",
	"DEV-56": "message level: what a receiver makes of a non-text CHANNEL_CLOSE_ERROR payload (the value is decoded as usual)",
}

// TestEveryDeviationHasVector checks that every row of Appendix B has a
// vector tag used by at least one golden vector, unless noVectorRows says
// why it cannot have one; and that an exempt row has no tag (so that an
// exemption is dropped once the row gets vectors).
func TestEveryDeviationHasVector(t *testing.T) {
	var doc struct {
		Vectors []struct {
			Name      string `json:"name"`
			Deviation *struct {
				ID string `json:"id"`
			} `json:"deviation"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(execnetconform.VectorsJSON, &doc); err != nil {
		t.Fatalf("testdata/vectors/vectors.json: %v", err)
	}
	used := map[string][]string{}
	for _, v := range doc.Vectors {
		if v.Deviation != nil {
			used[v.Deviation.ID] = append(used[v.Deviation.ID], v.Name)
		}
	}
	devs, err := Deviations()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, d := range devs {
		rows[d.ID] = true
		why, exempt := noVectorRows[d.ID]
		switch {
		case exempt && d.VectorTag != "":
			t.Errorf("%s has vector tag %s but is listed as having no vector (%s): drop the exemption", d.ID, d.VectorTag, why)
		case exempt:
		case d.VectorTag == "":
			t.Errorf("%s has no vector tag in SPEC.md Appendix B: add golden vectors in testdata/gen/gen_vectors.py "+
				"and the tag to the row, or list the row in noVectorRows with the reason", d.ID)
		case len(used[d.VectorTag]) == 0:
			t.Errorf("%s: no golden vector carries its tag %s (regenerate with /usr/bin/python3 testdata/gen/gen_vectors.py)", d.ID, d.VectorTag)
		default:
			t.Logf("%s: %d vectors tagged %s", d.ID, len(used[d.VectorTag]), d.VectorTag)
		}
	}
	var stale []string
	for id := range noVectorRows {
		if !rows[id] {
			stale = append(stale, id)
		}
	}
	sort.Strings(stale)
	for _, id := range stale {
		t.Errorf("noVectorRows lists %s, which is not a row of Appendix B", id)
	}
}
