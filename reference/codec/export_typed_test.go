package codec

// UnmarshalSlow is Unmarshal without its fast path, for tests.
func UnmarshalSlow(data []byte, v any) error {
	d := Decoder{StrConfig: ChannelStrConfig, forceSlow: true}
	_, err := d.Unmarshal(data, v)
	return err
}
