package codec

// UnhashableError reports a list, dict or set used as a dict key or set
// element. It matches ErrUnhashable with errors.Is.
type UnhashableError struct{ Kind Kind }

func (e *UnhashableError) Error() string { return "unhashable type: " + e.Kind.String() }

// Is makes errors.Is(err, ErrUnhashable) true.
func (e *UnhashableError) Is(target error) bool { return target == ErrUnhashable }
