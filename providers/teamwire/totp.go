package teamwire

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// decodeSecret reads a base32 TOTP secret as authenticator apps show it:
// case and spaces do not matter, padding is optional.
func decodeSecret(s string) ([]byte, error) {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(s))
	s = strings.TrimRight(s, "=")
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil {
		return nil, errors.New("not a base32 TOTP secret (letters A-Z and digits 2-7)")
	}
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	return b, nil
}

// TOTP returns the RFC 6238 code of key at t: HMAC-SHA1, 30-second steps
// from the Unix epoch, 6 digits.
func TOTP(key []byte, t time.Time) string {
	return hotp(key, uint64(t.Unix()/30), 6)
}

// hotp is RFC 4226: HMAC-SHA1 of the big-endian counter, dynamically
// truncated.
func hotp(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	code := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, code%mod)
}
