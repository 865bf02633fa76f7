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

// UnmarshalBoth decodes data into fast with d (fast path, falling back to
// the general path) and into slow with d's settings but the general path
// only, for tests that the two agree.
func UnmarshalBoth(d Decoder, data []byte, fast, slow any) (nf, ns int, ef, es error) {
	d.forceSlow, d.fastOnly = false, false
	nf, ef = d.Unmarshal(data, fast)
	d.forceSlow = true
	ns, es = d.Unmarshal(data, slow)
	return nf, ns, ef, es
}
