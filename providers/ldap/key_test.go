package ldap

import "testing"

func TestFormatGUID(t *testing.T) {
	b := []byte{0x27, 0x1c, 0x0c, 0x2f, 0x2b, 0x5a, 0x5e, 0x4c, 0x8e, 0x3f, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab}
	got, err := formatGUID(b)
	if want := "2f0c1c27-5a2b-4c5e-8e3f-0123456789ab"; err != nil || got != want {
		t.Errorf("formatGUID = %q, %v; want %q", got, err, want)
	}
	if _, err := formatGUID(b[:15]); err == nil {
		t.Error("formatGUID accepted 15 bytes")
	}
}
