package codec

import "errors"

// ErrUnhashable is matched by errors for unhashable dict keys or set elements.
var ErrUnhashable = errors.New("unhashable value")
