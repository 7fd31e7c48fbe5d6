package plan

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// A secret a plan must compare but never hold (a mapped password, a
// bind password) is stored as a PBKDF2-SHA256 hash:
// "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>".
const hashIterations = 100_000

// NewSalt returns a fresh random salt for HashSecret, in hex.
func NewSalt() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("plan: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// HashSecret hashes secret with salt (hex, or taken as bytes if it is
// not hex).
func HashSecret(salt, secret string) string {
	s, err := hex.DecodeString(salt)
	if err != nil {
		s = []byte(salt)
	}
	k, err := pbkdf2.Key(sha256.New, secret, s, hashIterations, 32)
	if err != nil {
		panic("plan: pbkdf2: " + err.Error())
	}
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", hashIterations, salt, hex.EncodeToString(k))
}

// SecretMatches reports whether hash (as made by HashSecret) is secret's.
func SecretMatches(hash, secret string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" || parts[1] != strconv.Itoa(hashIterations) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(HashSecret(parts[2], secret)), []byte(hash)) == 1
}
