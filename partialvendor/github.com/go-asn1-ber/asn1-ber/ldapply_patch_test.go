package ber

// Tests of ldapply's patch (PATCHES.md): the patched readPacket must decode
// every input as v1.5.8's did. upstreamReadPacket below is v1.5.8's
// readPacket, kept as the reference; only its value switch is shared
// (decodeUniversal, moved out unchanged).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/ioutil"
	"math"
	"os"
	"reflect"
	"testing"
)

// upstreamReadPacket is v1.5.8's readPacket.
func upstreamReadPacket(reader io.Reader, depth int) (*Packet, int, error) {
	if MaxNestingDepth > 0 && depth >= MaxNestingDepth {
		return nil, 0, fmt.Errorf("nesting depth %d exceeds maximum %d", depth, MaxNestingDepth)
	}
	identifier, length, read, err := readHeader(reader)
	if err != nil {
		return nil, read, err
	}
	if length != LengthIndefinite && MaxPacketLengthBytes > 0 && int64(length) > MaxPacketLengthBytes {
		return nil, read, fmt.Errorf("length %d greater than maximum %d", length, MaxPacketLengthBytes)
	}
	p := &Packet{Identifier: identifier}
	p.Data = new(bytes.Buffer)
	p.Children = make([]*Packet, 0, 2)
	if p.TagType == TypeConstructed {
		contentRead := 0
		for {
			if length != LengthIndefinite {
				if contentRead == length {
					break
				}
				if contentRead > length {
					return nil, read, fmt.Errorf("expected to read %d bytes, read %d", length, contentRead)
				}
			}
			child, r, err := upstreamReadPacket(reader, depth+1)
			if err != nil {
				return nil, read, unexpectedEOF(err)
			}
			contentRead += r
			read += r
			if MaxPacketLengthBytes > 0 && int64(contentRead) > MaxPacketLengthBytes {
				return nil, read, fmt.Errorf("length %d greater than maximum %d", contentRead, MaxPacketLengthBytes)
			}
			if isEOCPacket(child) {
				if length == LengthIndefinite {
					break
				}
				return nil, read, errors.New("eoc child not allowed with definite length")
			}
			p.AppendChild(child)
		}
		return p, read, nil
	}
	if length == LengthIndefinite {
		return nil, read, errors.New("indefinite length used with primitive type")
	}
	var content []byte
	if length > 0 {
		content, err = ioutil.ReadAll(io.LimitReader(reader, int64(length)))
		if err == nil && len(content) < int(length) {
			err = io.EOF
		}
		if err != nil {
			return nil, read, unexpectedEOF(err)
		}
		read += len(content)
	} else {
		content = make([]byte, 0)
	}
	p.Data.Write(content)
	if p.ClassType == ClassUniversal {
		p.ByteValue = content
		err = decodeUniversal(p, content)
	}
	return p, read, err
}

// readOnly hides a reader's ReadByte, as v1.5.8's readByte did not use it.
type readOnly struct{ io.Reader }

// samePacket reports how got differs from want, or "".
func samePacket(got, want *Packet, path string) string {
	switch {
	case got.Identifier != want.Identifier:
		return fmt.Sprintf("%s: identifier %+v, want %+v", path, got.Identifier, want.Identifier)
	case !sameValue(got.Value, want.Value):
		return fmt.Sprintf("%s: value %#v, want %#v", path, got.Value, want.Value)
	case !bytes.Equal(got.ByteValue, want.ByteValue):
		return fmt.Sprintf("%s: byte value %x, want %x", path, got.ByteValue, want.ByteValue)
	case len(got.Children) != len(want.Children):
		return fmt.Sprintf("%s: %d children, want %d", path, len(got.Children), len(want.Children))
	case len(want.Children) == 0 && !bytes.Equal(got.Data.Bytes(), want.Data.Bytes()):
		// A constructed packet's Data is its content as read, where
		// v1.5.8 re-encoded its children (the same but for the form of
		// lengths), so only leaves compare byte for byte.
		return fmt.Sprintf("%s: data %x, want %x", path, got.Data.Bytes(), want.Data.Bytes())
	}
	for i := range want.Children {
		if d := samePacket(got.Children[i], want.Children[i], fmt.Sprintf("%s/%d", path, i)); d != "" {
			return d
		}
	}
	return ""
}

// sameValue is reflect.DeepEqual, but a NaN equals a NaN (REAL's
// NOT-A-NUMBER decodes to one).
func sameValue(got, want interface{}) bool {
	g, ok1 := got.(float64)
	w, ok2 := want.(float64)
	if ok1 && ok2 && math.IsNaN(g) && math.IsNaN(w) {
		return true
	}
	return reflect.DeepEqual(got, want)
}

// compareWithUpstream decodes data with v1.5.8's readPacket and with the
// patched one, from memory and from a buffered stream as go-ldap reads.
func compareWithUpstream(t *testing.T, data []byte) {
	t.Helper()
	want, wantRead, wantErr := upstreamReadPacket(readOnly{bytes.NewReader(data)}, 0)
	for name, in := range map[string]io.Reader{
		"memory": &sliceReader{b: data},
		"stream": bufio.NewReaderSize(bytes.NewReader(data), 16),
	} {
		got, gotRead, err := readPacket(in, 0)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%s: error %v, v1.5.8's %v", name, err, wantErr)
		}
		if err != nil {
			continue
		}
		if gotRead != wantRead {
			t.Fatalf("%s: read %d bytes, v1.5.8 %d", name, gotRead, wantRead)
		}
		if d := samePacket(got, want, "packet"); d != "" {
			t.Fatalf("%s: %s", name, d)
		}
	}
}

// searchEntry encodes an LDAP SearchResultEntry (RFC 4511 4.5.2) as a
// directory sends it; attrs holds each attribute's name, then its values.
func searchEntry(dn string, attrs ...[]string) []byte {
	msg := Encode(ClassUniversal, TypeConstructed, TagSequence, nil, "LDAP message")
	msg.AppendChild(NewInteger(ClassUniversal, TypePrimitive, TagInteger, int64(7), "message id"))
	entry := Encode(ClassApplication, TypeConstructed, 4, nil, "search result entry")
	entry.AppendChild(NewString(ClassUniversal, TypePrimitive, TagOctetString, dn, "dn"))
	list := Encode(ClassUniversal, TypeConstructed, TagSequence, nil, "attributes")
	for _, attr := range attrs {
		a := Encode(ClassUniversal, TypeConstructed, TagSequence, nil, "attribute")
		a.AppendChild(NewString(ClassUniversal, TypePrimitive, TagOctetString, attr[0], "type"))
		set := Encode(ClassUniversal, TypeConstructed, TagSet, nil, "values")
		for _, v := range attr[1:] {
			set.AppendChild(NewString(ClassUniversal, TypePrimitive, TagOctetString, v, "value"))
		}
		a.AppendChild(set)
		list.AppendChild(a)
	}
	entry.AppendChild(list)
	msg.AppendChild(entry)
	// A control, context class [0], as paged results carry.
	controls := Encode(ClassContext, TypeConstructed, 0, nil, "controls")
	controls.AppendChild(NewString(ClassUniversal, TypePrimitive, TagOctetString, "1.2.840.113556.1.4.319", "control type"))
	msg.AppendChild(controls)
	return msg.Bytes()
}

// groupEntry is a group of n members.
func groupEntry(n int) []byte {
	members := []string{"member"}
	for i := 0; i < n; i++ {
		members = append(members, fmt.Sprintf("uid=user%06d,ou=people,dc=example,dc=com", i*37))
	}
	return searchEntry("cn=group0042,ou=groups,dc=example,dc=com",
		[]string{"cn", "group0042"}, []string{"entryUUID", "5f4dcc3b-5aa7-4c5e-8e3f-0123456789ab"}, members)
}

// userEntry is a person with a dozen single-valued attributes.
func userEntry() []byte {
	return searchEntry("uid=user000042,ou=people,dc=example,dc=com",
		[]string{"objectClass", "inetOrgPerson"}, []string{"uid", "user000042"}, []string{"cn", "User 42"},
		[]string{"sn", "Fortytwo"}, []string{"givenName", "User"}, []string{"displayName", "User Fortytwo"},
		[]string{"mail", "user000042@example.com"}, []string{"telephoneNumber", "+49 30 1234567"},
		[]string{"title", "Engineer"}, []string{"departmentNumber", "42"},
		[]string{"employeeNumber", "000042"}, []string{"entryUUID", "5f4dcc3b-5aa7-4c5e-8e3f-0123456789ab"})
}

func TestReadPacketMatchesUpstream(t *testing.T) {
	for _, tc := range testCases {
		data, err := os.ReadFile(tc.File)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(tc.File, func(t *testing.T) { compareWithUpstream(t, data) })
	}
	entries := map[string][]byte{"user": userEntry()}
	for _, n := range []int{0, 1, 1000} {
		entries[fmt.Sprintf("group of %d members", n)] = groupEntry(n)
	}
	for name, data := range entries {
		t.Run(name, func(t *testing.T) {
			compareWithUpstream(t, data)
			// Truncated anywhere, both fail alike.
			for cut := 0; cut < len(data) && cut < 300; cut++ {
				compareWithUpstream(t, data[:cut])
			}
		})
	}
}

// A value's bytes must not alias its siblings': appending to one packet's
// Data (a bytes.Buffer) used to be safe and stays so.
func TestReadPacketDataDoesNotAlias(t *testing.T) {
	p, err := ReadPacket(bufio.NewReader(bytes.NewReader(groupEntry(3))))
	if err != nil {
		t.Fatal(err)
	}
	set := p.Children[1].Children[1].Children[2].Children[1]
	first, second := set.Children[0], set.Children[1]
	before := second.Data.String()
	first.Data.WriteString("!!!!")
	if second.Data.String() != before || second.Value.(string) != before {
		t.Fatalf("writing to one value's Data changed the next value: %q, was %q", second.Data.String(), before)
	}
}

func FuzzReadPacketMatchesUpstream(f *testing.F) {
	for _, tc := range testCases {
		data, err := os.ReadFile(tc.File)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(groupEntry(3))
	f.Add(userEntry())
	f.Add([]byte{0x30, 0x80, 0x04, 0x01, 'a', 0x00, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) { compareWithUpstream(t, data) })
}

// BenchmarkReadSearchEntry reads a user entry and a group entry of 1,000
// members from a buffered stream, as go-ldap's reader does: patched, and
// v1.5.8's.
func BenchmarkReadSearchEntry(b *testing.B) {
	for _, entry := range []struct {
		name string
		data []byte
	}{{"user", userEntry()}, {"group", groupEntry(1000)}} {
		data := entry.data
		in := bytes.NewReader(data)
		buf := bufio.NewReader(in)
		b.Run(entry.name+"/patched", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				in.Reset(data)
				buf.Reset(in)
				if _, err := ReadPacket(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(entry.name+"/v1.5.8", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				in.Reset(data)
				buf.Reset(in)
				if _, _, err := upstreamReadPacket(readOnly{buf}, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestControlValueRewrite follows go-ldap's handling of a paged-results
// control (control.go): it decodes the control value's bytes with
// DecodePacketErr, truncates the value's Data and appends the decoded
// packet to it, then reads the cookie from the decoded packet. When the
// server wrote long-form lengths (Active Directory writes 0x84 ...),
// re-encoding is shorter and lands on the same bytes; the cookie must
// still read as sent, so DecodePacketErr must not keep the caller's
// bytes.
func TestControlValueRewrite(t *testing.T) {
	cookie := []byte("cookie-0123456789")
	// SEQUENCE { INTEGER 0, OCTET STRING cookie }, with 4-byte lengths.
	inner := append([]byte{0x30, 0x84, 0, 0, 0, byte(3 + 6 + len(cookie))}, 0x02, 0x01, 0x00)
	inner = append(inner, 0x04, 0x84, 0, 0, 0, byte(len(cookie)))
	inner = append(inner, cookie...)
	// The control: SEQUENCE { OCTET STRING type, OCTET STRING value }.
	ctype := []byte("1.2.840.113556.1.4.319")
	msg := append([]byte{0x30, byte(2 + len(ctype) + 2 + len(inner)), 0x04, byte(len(ctype))}, ctype...)
	msg = append(msg, 0x04, byte(len(inner)))
	msg = append(msg, inner...)

	control, err := ReadPacket(bufio.NewReader(bytes.NewReader(msg)))
	if err != nil {
		t.Fatal(err)
	}
	value := control.Children[1]
	decoded, err := DecodePacketErr(value.Data.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	value.Data.Truncate(0)
	value.Value = nil
	value.AppendChild(decoded)
	if got := decoded.Children[1].Data.Bytes(); !bytes.Equal(got, cookie) {
		t.Errorf("the cookie reads %q after go-ldap's rewrite, want %q", got, cookie)
	}
}
