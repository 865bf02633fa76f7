package cases

// SPEC.md clause anchors cited by the cases, named by what they require.
// Keeping them in one place makes the mapping easy to review against the
// spec; the runner's coverage test checks that each exists.
const (
	// Bootstrap.
	cBootReady   = "BOOT-HS-3"
	cBootNoFrame = "BOOT-HS-6"
	cBootStdio   = "BOOT-FD-1"

	// Conformance profile.
	cProfEcho       = "CONF-ECHO-1"
	cProfFail       = "CONF-FAIL-1"
	cProfStream     = "CONF-STREAM-1"
	cProfNewChannel = "CONF-NEWCH-1"
	cProfDumps      = "CONF-DUMPS-1"
	cProfLoads      = "CONF-LOADS-1"
	cProfLoadsEnd   = "CONF-LOADS-2"
	cProfInfo       = "CONF-INFO-1"
	cProfSleep      = "CONF-SLEEP-1"
	cProfCall       = "CONF-CALL-1"
	cProfKwargs     = "CONF-CALL-3"
	cProfEndNormal  = "CONF-CALL-4"
	cProfUnknown    = "CONF-UNKNOWN-1"

	// Framing.
	cFrmHeader    = "FRM-HDR-1"
	cFrmLenExact  = "FRM-HDR-2"
	cFrmLength    = "FRM-HDR-3"
	cFrmStream    = "FRM-ATOM-1"
	cFrmOrder     = "FRM-ORD-1"
	cFrmOrdSend   = "FRM-ORD-2"
	cFrmData      = "FRM-CODE-1"
	cFrmEmpty     = "FRM-CODE-2"
	cFrmUnknown   = "FRM-CODE-3"
	cFrmEOF       = "FRM-EOF-1"
	cFrmEOFPart   = "FRM-EOF-2"
	cFrmFatal     = "FRM-FATAL-1"
	cFrmFatalWhat = "FRM-FATAL-2"
	cFrmMaxLen    = "LIM-FRM-1"

	// Serialization and data model.
	cSerNone      = "SER-ENC-1"
	cSerBool      = "DM-BOOL-1"
	cSerInt       = "SER-INT-1"
	cSerIntRule   = "SER-INT-2"
	cSerLongInt   = "DM-INT-1"
	cSerLongDec   = "SER-INT-4"
	cSerLegacyInt = "SER-INT-3"
	cSerFloat     = "DM-FLOAT-1"
	cSerFloatOp   = "SER-OPND-2"
	cSerComplex   = "SER-SM-5"
	cSerBytes     = "SER-SM-6"
	cSerStr       = "SER-STR-1"
	cSerStrDec    = "SER-STR-2"
	cSerTuple     = "SER-ENC-2"
	cSerList      = "SER-ENC-3"
	cSerDict      = "SER-ENC-4"
	cSerDictOrder = "DM-DICT-1"
	cSerSet       = "SER-ENC-5"
	cSerSetOrder  = "DM-SET-2"
	cSerFrozenSet = "SER-SM-9"
	cSerChannel   = "SER-SM-17"
	cSerStop      = "SER-ENC-7"
	cSerUnique    = "SER-ENC-8"
	cSerPy2Str    = "SER-STR-3"
	cSerLegacy    = "SER-STR-2"
	cSerWire      = "SER-WIRE-1"
	cSerTrailing  = "SER-WIRE-3"
	cSerKinds     = "DM-KIND-1"
	cSerKindsEnc  = "DM-KIND-2"
	cSerDictDup   = "DM-DICT-2"
	cSerEq        = "DM-EQ-1"
	cSerNaN       = "DM-EQ-2"
	cSerLimitInt  = "LIM-INT-1"

	// Strconfig.
	cStrDefault = "SER-STRC-1"
	cStrPy2     = "SER-STR-3"
	cStrPy3     = "SER-STRC-2"

	// Decoder errors.
	cDecErrors = "ERR-GEN-1"
	cDecNames  = "ERR-NAME-1"

	// Messages.
	cMsgStatusReply    = "MSG-STATUS-2"
	cMsgStatusClose    = "MSG-STATUS-2"
	cMsgStatusKeys     = "MSG-STATUS-3"
	cMsgStatusModel    = "MSG-STATUS-4"
	cMsgReconfChannel  = "MSG-RECONF-2"
	cMsgReconfGateway  = "MSG-RECONF-3"
	cMsgReconfBad      = "MSG-RECONF-4"
	cMsgTerminate      = "MSG-TERM-2"
	cMsgExec           = "MSG-EXEC-2"
	cMsgExecConcurrent = "MSG-EXEC-3"
	cMsgExecPython     = "MSG-EXEC-4"
	cMsgExecEnd        = "MSG-EXEC-5"
	cMsgExecError      = "MSG-EXEC-6"
	cMsgExecNonPython  = "MSG-EXEC-8"
	cMsgExecShape      = "MSG-EXEC-10"
	cMsgDataDeliver    = "MSG-DATA-2"
	cMsgDataDropped    = "MSG-DATA-3"
	cMsgClose          = "MSG-CLOSE-1"
	cMsgCloseRecv      = "MSG-CLOSE-2"
	cMsgCloseUnknown   = "MSG-CLOSE-3"
	cMsgCloseError     = "MSG-CLOSEERR-1"
	cMsgCloseErrorRecv = "MSG-CLOSEERR-3"
	cMsgCloseErrorGone = "MSG-CLOSEERR-4"
	cMsgLastMessage    = "MSG-LAST-2"
	cMsgUnknown        = "FRM-CODE-3"

	// Channels.
	cChanWorkerEven  = "CHAN-ID-1"
	cChanNoReuse     = "CHAN-ID-2"
	cChanLazy        = "CHAN-ID-5"
	cChanResolve     = "CHAN-ID-6"
	cChanStart       = "CHAN-STATE-1"
	cChanEndClose    = "MSG-EXEC-5"
	cChanClosed      = "CHAN-STATE-5"
	cChanSendOnly    = "CHAN-STATE-5"
	cChanConnEnd     = "CHAN-STATE-6"
	cChanNoAfter     = "CHAN-STATE-9"
	cChanPassed      = "CHAN-REF-2"
	cChanIndependent = "FRM-ORD-1"

	// Errors.
	cErrRemote = "MSG-EXEC-6"

	// Termination.
	cTermEOF      = "TERM-EOF-4"
	cTermExitZero = "TERM-EOF-3"
	cTermGrace    = "TERM-EOF-2"
	cTermStop     = "TERM-EOF-1"

	// Robustness.
	cRobBadPayload = "FRM-FATAL-2"
)

// errorClassClause maps a decoder error class to the clause that requires
// it to be raised.
var errorClassClause = map[string]string{
	"Truncated":         "SER-SM-3",
	"UnknownOpcode":     "SER-REG-2",
	"StackUnderflow":    "SER-SM-10",
	"StopStack":         "SER-SM-2",
	"Unhashable":        "DM-HASH-2",
	"BadInteger":        "SER-INT-3",
	"BadUTF8":           "SER-STR-2",
	"NegativeLength":    "LIM-LEN-2",
	"IndexRange":        "SER-SM-15",
	"NotContainer":      "SER-SM-16",
	"Limit":             "LIM-INT-2",
	"ChannelNotAllowed": "SER-SM-17",
}

// rejectClause maps the second element of a reject vector's name to a
// further clause it exercises.
var rejectClause = map[string]string{
	"truncated":       "LIM-LEN-3",
	"setitem":         "SER-SM-13",
	"unhashable":      "SER-SM-14",
	"list":            "SER-SM-15",
	"stop":            "SER-SM-2",
	"buildtuple":      "SER-SM-10",
	"newlist":         "LIM-ALLOC-2",
	"negative-count":  "LIM-LEN-2",
	"negative-length": "LIM-LEN-2",
	"set":             "SER-SM-11",
	"frozenset":       "SER-SM-11",
	"empty-input":     "SER-SM-3",
}

// groupClause maps the first element of a non-reject vector's name to the
// clause that fixes its encoding or decoding.
var groupClause = map[string]string{
	"int":       "SER-INT-2",
	"longint":   "SER-INT-4",
	"dict":      "SER-ENC-4",
	"float":     "DM-FLOAT-1",
	"str":       "SER-STR-1",
	"list":      "SER-ENC-3",
	"set":       "SER-ENC-5",
	"bytes":     "SER-SM-6",
	"complex":   "SER-OPND-2",
	"legacy":    "SER-STR-3",
	"tuple":     "SER-ENC-2",
	"frozenset": "SER-SM-9",
	"channel":   "SER-SM-17",
	"bool":      "DM-BOOL-1",
	"trailing":  "SER-WIRE-3",
	"none":      "SER-ENC-1",
}

// nameClause maps a word in a vector's name to further clauses.
var nameClause = map[string][]string{
	"duplicate":  {"DM-DICT-2", "DM-EQ-1"},
	"nan-keys":   {"DM-EQ-2"},
	"unhashable": {"DM-HASH-1"},
	"huge":       {"LIM-ALLOC-1"},
	"count-over": {"LIM-ALLOC-1"},
	"newlist":    {"SER-SM-8"},
	"unfilled":   {"SER-SM-8"},
	"setitem":    {"SER-SM-12"},
	"set/":       {"DM-SET-1", "DM-SET-2"},
	"frozenset":  {"DM-EQ-4"},
	"dict/":      {"SER-SM-7", "SER-SM-12"},
	"list/":      {"SER-SM-8", "SER-SM-12"},
	"none":       {"SER-SM-4"},
	"bool/":      {"SER-SM-4"},
	"int/":       {"SER-SM-4", "SER-OPND-1"},
	"bytes/":     {"SER-OPND-3", "DM-TEXT-2"},
	"str/":       {"SER-OPND-3", "DM-TEXT-2"},
	"truncated":  {"SER-OPND-1", "SER-OPND-3", "ERR-GEN-5"},
	"negative-":  {"ERR-GEN-5"},
	"4300":       {"LIM-INT-1"},
}
