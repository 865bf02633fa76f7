package cases

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/prop"

	"github.com/execnet-conform/execnet-conform/conformance"
	"github.com/execnet-conform/execnet-conform/conformance/profile"
	"github.com/execnet-conform/execnet-conform/reference/codec"
	"github.com/execnet-conform/execnet-conform/reference/codec/codectest"
	"github.com/execnet-conform/execnet-conform/reference/frame"
	"github.com/execnet-conform/execnet-conform/spec"
)

// propertyDepth is the container nesting of generated values.
const propertyDepth = 3

// propertyTimeout bounds a property case: Count values plus shrinking.
const propertyTimeout = 60 * time.Second

// A property case sends gopter-generated values of the whole data model
// (codectest.GenValue: no py2str, no channel references, no NaN dict keys)
// to the target and checks each answer; on failure gopter shrinks the
// value and the case reports the minimal one, its hex and the seed.
//
// Integers below -2^31 are replaced by their magnitude: the serial and
// vector cases check them one by one, and a target with deviation DEV-1
// (Python execnet) would otherwise fail every property case, hiding
// everything else the properties can find.
func propertyCases() []conformance.Case {
	return []conformance.Case{
		propertyCase("property/echo/roundtrip", []string{cProfEcho, cSerKinds, cSerKindsEnc, "DM-DICT-1", cMsgDataDeliver},
			"generated values sent to conform_echo come back identical", profile.Echo, checkEchoProp),
		propertyCase("property/dumps/canonical", []string{cProfDumps, cSerUnique, cSerKindsEnc, "SER-ENC-5"},
			"conform_dumps writes the canonical bytes of generated values (set elements in any order)", profile.Dumps, checkDumpsProp),
		propertyCase("property/loads/decodes", []string{cProfLoads, cSerKinds, "SER-SM-1"},
			"conform_loads decodes the canonical bytes of generated values to identical values", profile.Loads, checkLoadsProp),
	}
}

// propSession holds the channel a property reuses between values.
type propSession struct {
	t    *conformance.T
	proc string
	ch   int32 // 0: start a new execution before the next value
	// dead is set once the connection has ended; later values are not
	// checked (they would all "fail" for the same reason).
	dead      error
	deadValue codec.Value
}

// checkFunc checks one value against the target; it returns "" when the
// target answered correctly, else what went wrong.
type checkFunc func(s *propSession, v codec.Value) string

func propertyCase(id string, clauses []string, desc, proc string, check checkFunc) conformance.Case {
	return conformance.Case{
		ID:          id,
		Clauses:     sortedClauses(clauses),
		Level:       conformance.MUST,
		Description: desc,
		Timeout:     propertyTimeout,
		Run: func(t *conformance.T) {
			s := &propSession{t: t, proc: proc}
			params := gopter.DefaultTestParametersWithSeed(t.Seed())
			if n := t.Count(); n > 0 {
				params.MinSuccessfulTests = n
			}
			params.MaxShrinkCount = 200
			p := prop.ForAll(func(v codec.Value) bool {
				if s.dead != nil {
					return true // nothing more can be learnt
				}
				return check(s, v) == ""
			}, withoutDeepNegatives(codectest.GenValue(propertyDepth)))
			res := p.Check(params)
			if s.dead != nil {
				b, _ := codec.Dumps(s.deadValue)
				t.Fatalf("the target ended the connection while checking %s (hex %s); seed %d: %v",
					reprOf(s.deadValue), hexOf(b), t.Seed(), s.dead)
			}
			if res.Passed() {
				t.Logf("%d generated values passed (seed %d)", res.Succeeded, t.Seed())
				return
			}
			if res.Status == gopter.TestError || len(res.Args) == 0 {
				t.Fatalf("property error (seed %d): %v", t.Seed(), res.Error)
			}
			arg := res.Args[0]
			v, _ := arg.Arg.(codec.Value)
			detail := check(s, v)
			if s.dead != nil {
				detail = fmt.Sprintf("the target ended the connection: %v", s.dead)
			}
			b, _ := codec.Dumps(v)
			orig, _ := arg.OrigArg.(codec.Value)
			t.Fatalf("after %d passing values, minimal failing value %s (hex %s), shrunk %d times from %s; seed %d (rerun with --seed %d): %s",
				res.Succeeded, reprOf(v), hexOf(b), arg.Shrinks, reprOf(orig), t.Seed(), t.Seed(), detail)
		},
	}
}

// send writes one frame without ending the case on failure.
func (s *propSession) send(f frame.Frame) error {
	return s.t.TrySendRaw(frame.Append(nil, f))
}

// roundTrip sends payload as CHANNEL_DATA to the property's procedure
// (starting it if needed) and returns the answer frame.
func (s *propSession) roundTrip(payload []byte) (frame.Frame, string) {
	if s.ch == 0 {
		p, err := profile.Payload(s.proc, &codec.Dict{})
		if err != nil {
			return frame.Frame{}, "suite bug: " + err.Error()
		}
		pb, err := codec.Dumps(p)
		if err != nil {
			return frame.Frame{}, "suite bug: " + err.Error()
		}
		s.ch = s.t.NewChannelID()
		if err := s.send(frame.Frame{Code: spec.MsgChannelExec, Channel: s.ch, Payload: pb}); err != nil {
			return frame.Frame{}, s.fail(err)
		}
	}
	if err := s.send(dataFrame(s.ch, payload)); err != nil {
		return frame.Frame{}, s.fail(err)
	}
	f, err := s.t.RecvOn(s.ch)
	if err != nil {
		return frame.Frame{}, s.fail(err)
	}
	if f.Code != spec.MsgChannelData {
		s.ch = 0 // the execution has ended
		if f.Code == spec.MsgChannelCloseError {
			return f, "the target closed the channel with an error: " + closeErrorText(f)
		}
		return f, fmt.Sprintf("expected CHANNEL_DATA, got %s", f.Code)
	}
	return f, ""
}

func (s *propSession) fail(err error) string {
	if errors.Is(err, conformance.ErrConnEnded) || errors.Is(err, conformance.ErrTimeout) {
		s.dead = err
	}
	return err.Error()
}

// exchange sends payload, the encoding of v, and returns the answer; when
// the exchange kills the session, v is recorded as the value that did it.
func (s *propSession) exchange(v codec.Value, payload []byte) (frame.Frame, string) {
	f, msg := s.roundTrip(payload)
	if msg != "" && s.dead != nil {
		s.deadValue = v
	}
	return f, msg
}

func checkEchoProp(s *propSession, v codec.Value) string {
	b, err := codec.Dumps(v)
	if err != nil {
		return "suite bug: " + err.Error()
	}
	f, msg := s.exchange(v, b)
	if msg != "" {
		return msg
	}
	got, err := codec.Loads(f.Payload)
	if err != nil {
		return fmt.Sprintf("the echo does not decode: %v (hex %s)", err, hexOf(f.Payload))
	}
	if !codec.Identical(v, got) {
		return fmt.Sprintf("echoed as %s (hex %s)", reprOf(got), hexOf(f.Payload))
	}
	return ""
}

func checkDumpsProp(s *propSession, v codec.Value) string {
	want, err := codec.Dumps(v)
	if err != nil {
		return "suite bug: " + err.Error()
	}
	f, msg := s.exchange(v, want)
	if msg != "" {
		return msg
	}
	r, err := codec.Loads(f.Payload)
	got, ok := r.(codec.Bytes)
	if err != nil || !ok {
		return fmt.Sprintf("conform_dumps answered hex %s, want bytes", hexOf(f.Payload))
	}
	if string(got) == string(want) {
		return ""
	}
	if hasMultiSet(v) && len(got) == len(want) {
		if g, err := codec.Loads(got); err == nil && codec.Identical(g, v) {
			return ""
		}
	}
	return fmt.Sprintf("conform_dumps wrote hex %s, want hex %s", hexOf(got), hexOf(want))
}

func checkLoadsProp(s *propSession, v codec.Value) string {
	b, err := codec.Dumps(v)
	if err != nil {
		return "suite bug: " + err.Error()
	}
	item, err := codec.Dumps(codec.Bytes(b))
	if err != nil {
		return "suite bug: " + err.Error()
	}
	f, msg := s.exchange(v, item)
	if msg != "" {
		return msg
	}
	got, err := codec.Loads(f.Payload)
	if err != nil {
		return fmt.Sprintf("the answer does not decode: %v (hex %s)", err, hexOf(f.Payload))
	}
	if !codec.Identical(v, got) {
		return fmt.Sprintf("decoded as %s (answer hex %s)", reprOf(got), hexOf(f.Payload))
	}
	return ""
}

// withoutDeepNegatives maps generated values (and their shrinks) through
// liftNegatives.
func withoutDeepNegatives(g gopter.Gen) gopter.Gen {
	return g.MapResult(func(r *gopter.GenResult) *gopter.GenResult {
		v, ok := r.Retrieve()
		if !ok {
			return r
		}
		cv, ok := v.(codec.Value)
		if !ok {
			return r
		}
		orig := r.Shrinker
		out := gopter.NewGenResult(liftNegatives(cv), func(x interface{}) gopter.Shrink {
			next := orig(x)
			return func() (interface{}, bool) {
				y, ok := next()
				if !ok {
					return nil, false
				}
				if yv, ok := y.(codec.Value); ok {
					return liftNegatives(yv), true
				}
				return y, true
			}
		})
		out.ResultType = r.ResultType
		return out
	})
}

var minInt32 = big.NewInt(math.MinInt32)

// liftNegatives replaces every integer below -2^31 in v by its magnitude.
func liftNegatives(v codec.Value) codec.Value {
	switch x := v.(type) {
	case codec.Int:
		if x < math.MinInt32 && x != math.MinInt64 {
			return -x
		}
		if x == math.MinInt64 {
			return codec.NewBigInt(new(big.Int).Neg(big.NewInt(math.MinInt64)))
		}
	case codec.BigInt:
		if x.V.Cmp(minInt32) < 0 {
			return codec.NewBigInt(new(big.Int).Neg(x.V))
		}
	case codec.Tuple:
		return codec.Tuple(liftAll(x))
	case codec.List:
		return codec.List(liftAll(x))
	case codec.Set:
		if s, err := codec.NewSet(liftAll(x)...); err == nil {
			return s
		}
	case codec.FrozenSet:
		if s, err := codec.NewFrozenSet(liftAll(x)...); err == nil {
			return s
		}
	case *codec.Dict:
		items := make([]codec.Item, 0, x.Len())
		for _, it := range x.Items() {
			items = append(items, codec.Item{Key: liftNegatives(it.Key), Value: liftNegatives(it.Value)})
		}
		if d, err := codec.NewDict(items...); err == nil {
			return d
		}
	}
	return v
}

func liftAll(xs []codec.Value) []codec.Value {
	out := make([]codec.Value, len(xs))
	for i, x := range xs {
		out[i] = liftNegatives(x)
	}
	return out
}
