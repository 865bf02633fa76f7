package gateway

// sendFileSupported: the transports splice files into pipes here.
const sendFileSupported = true
