package codec

// UnmarshalSlow is Unmarshal without its fast path, for tests.
func UnmarshalSlow(data []byte, v any) error {
	d := Decoder{StrConfig: ChannelStrConfig, forceSlow: true}
	_, err := d.Unmarshal(data, v)
	return err
}

// UnmarshalFastOnly is Unmarshal that fails where the fast path declines,
// for tests that the fast path covers an input.
func UnmarshalFastOnly(data []byte, v any) error {
	d := Decoder{StrConfig: ChannelStrConfig, fastOnly: true}
	_, err := d.Unmarshal(data, v)
	return err
}
