package gateway

import "github.com/execnet-conform/execnet-conform/reference/codec"

// StrConfig returns the string coercion this channel decodes items with:
// the gateway's when the channel was created, then whatever Reconfigure or
// a RECONFIGURE frame from the peer set. The Go worker's conform_loads
// decodes with it, as Python's does with the channel's strconfig.
func (ch *Channel) StrConfig() codec.StrConfig {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.strconfig
}
