package plan

import (
	"strings"
	"testing"
)

func TestSecretHash(t *testing.T) {
	salt := NewSalt()
	h := HashSecret(salt, "s3cret")
	if strings.Contains(h, "s3cret") || !strings.HasPrefix(h, "pbkdf2-sha256$100000$"+salt+"$") {
		t.Fatalf("hash %q", h)
	}
	if !SecretMatches(h, "s3cret") {
		t.Error("the secret does not match its own hash")
	}
	if SecretMatches(h, "s3cret2") || SecretMatches(HashSecret(NewSalt(), "other"), "s3cret") {
		t.Error("another secret matches")
	}
	if salt2 := NewSalt(); salt2 == salt || HashSecret(salt2, "s3cret") == h {
		t.Error("two salts gave the same salt or hash")
	}
	if SecretMatches(strings.Replace(h, "$100000$", "$1$", 1), "s3cret") || SecretMatches("s3cret", "s3cret") {
		t.Error("a malformed hash matches")
	}
}
