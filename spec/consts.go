package spec

// Version is the version of SPEC.md that this module implements.
const Version = "1.0-draft"

// HeaderSize is the size in bytes of a frame header: a signed 8-bit message
// code, a signed 32-bit channel id and a signed 32-bit payload length, all in
// network byte order. See [FRM-HDR-1] in SPEC.md.
const HeaderSize = 9

// MsgCode is a frame's message code.
type MsgCode int8

// The eight message codes of SPEC.md section "Framing".
const (
	MsgStatus             MsgCode = 0
	MsgReconfigure        MsgCode = 1
	MsgGatewayTerminate   MsgCode = 2
	MsgChannelExec        MsgCode = 3
	MsgChannelData        MsgCode = 4
	MsgChannelClose       MsgCode = 5
	MsgChannelCloseError  MsgCode = 6
	MsgChannelLastMessage MsgCode = 7
)

var msgNames = [...]string{
	"STATUS", "RECONFIGURE", "GATEWAY_TERMINATE", "CHANNEL_EXEC",
	"CHANNEL_DATA", "CHANNEL_CLOSE", "CHANNEL_CLOSE_ERROR", "CHANNEL_LAST_MESSAGE",
}

// Known reports whether c is one of the eight defined message codes.
func (c MsgCode) Known() bool { return c >= 0 && int(c) < len(msgNames) }

// String returns the spec name of the code, or "UNKNOWN(n)".
func (c MsgCode) String() string {
	if c.Known() {
		return msgNames[c]
	}
	return "UNKNOWN(" + itoa(int(c)) + ")"
}

// Opcode is one serialization opcode byte.
type Opcode byte

// The 21 opcodes of SPEC.md section "Serialization".
const (
	OpBuildTuple Opcode = '@' // 0x40 int32 n: pop n items into a tuple
	OpBytes      Opcode = 'A' // 0x41 int32 len + raw bytes
	OpChannel    Opcode = 'B' // 0x42 int32 channel id
	OpFalse      Opcode = 'C' // 0x43
	OpFloat      Opcode = 'D' // 0x44 IEEE-754 binary64
	OpFrozenSet  Opcode = 'E' // 0x45 int32 n: pop n items into a frozenset
	OpInt        Opcode = 'F' // 0x46 signed int32
	OpLong       Opcode = 'G' // 0x47 signed int32 (legacy, decode only)
	OpLongInt    Opcode = 'H' // 0x48 int32 len + ASCII decimal
	OpLongLong   Opcode = 'I' // 0x49 int32 len + ASCII decimal (legacy, decode only)
	OpNewDict    Opcode = 'J' // 0x4A push an empty dict
	OpNewList    Opcode = 'K' // 0x4B int32 n: push a list of n None
	OpNone       Opcode = 'L' // 0x4C
	OpPy2String  Opcode = 'M' // 0x4D int32 len + bytes (legacy Python 2 str)
	OpPy3String  Opcode = 'N' // 0x4E int32 len + UTF-8 text
	OpSet        Opcode = 'O' // 0x4F int32 n: pop n items into a set
	OpSetItem    Opcode = 'P' // 0x50 pop value, pop key, store into top
	OpStop       Opcode = 'Q' // 0x51 end of value
	OpTrue       Opcode = 'R' // 0x52
	OpUnicode    Opcode = 'S' // 0x53 int32 len + UTF-8 (legacy Python 2 unicode)
	OpComplex    Opcode = 'T' // 0x54 two binary64: real, imaginary
)

var opNames = [...]string{
	"BUILDTUPLE", "BYTES", "CHANNEL", "FALSE", "FLOAT", "FROZENSET", "INT",
	"LONG", "LONGINT", "LONGLONG", "NEWDICT", "NEWLIST", "NONE", "PY2STRING",
	"PY3STRING", "SET", "SETITEM", "STOP", "TRUE", "UNICODE", "COMPLEX",
}

// Known reports whether o is one of the 21 assigned opcodes.
func (o Opcode) Known() bool { return o >= OpBuildTuple && o <= OpComplex }

// String returns the spec name of the opcode, or "UNKNOWN(0xNN)".
func (o Opcode) String() string {
	if o.Known() {
		return opNames[o-OpBuildTuple]
	}
	const hex = "0123456789abcdef"
	return "UNKNOWN(0x" + string([]byte{hex[o>>4], hex[o&15]}) + ")"
}

// Format versions of the public (versioned) serialization form.
const (
	FormatV1 byte = 1 // execnet < 2.0
	FormatV2 byte = 2 // execnet >= 2.0
)

// The handshake byte a worker writes once it is ready to serve frames.
const ReadyByte byte = '1'

// BootstrapCommand is the -c argument execnet passes to a popen worker's
// interpreter; the worker then reads one line from stdin.
const BootstrapCommand = "import sys;exec(eval(sys.stdin.readline()))"

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
