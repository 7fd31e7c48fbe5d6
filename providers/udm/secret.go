package udm

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

// A mapped password is stored in plans as a PBKDF2-SHA256 hash with a
// salt made per value: "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>".
const hashIterations = 100_000

func newSalt() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("udm: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func hashSecret(salt, secret string) string {
	s, err := hex.DecodeString(salt)
	if err != nil {
		s = []byte(salt)
	}
	k, err := pbkdf2.Key(sha256.New, secret, s, hashIterations, 32)
	if err != nil {
		panic("udm: pbkdf2: " + err.Error())
	}
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", hashIterations, salt, hex.EncodeToString(k))
}

// hashMatches reports whether hash (as made by hashSecret) is secret's.
func hashMatches(hash, secret string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" || parts[1] != strconv.Itoa(hashIterations) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashSecret(parts[2], secret)), []byte(hash)) == 1
}
