//go:build !linux

package gateway

// sendFileSupported: no zero-copy file sending on this system.
const sendFileSupported = false
