package icinga

import (
	"context"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/icingasim"
)

// TestPickChannelIgnoresCase: Icinga compares names apart from case, so
// target.icinga.channel does too, for names and types alike.
func TestPickChannelIgnoresCase(t *testing.T) {
	channels := []Channel{
		{ID: "0c000000-0000-4000-8000-000000000001", Name: "E-Mail", Type: "email"},
		{ID: "0c000000-0000-4000-8000-000000000002", Name: "Hook", Type: "webhook"},
	}
	for want, id := range map[string]string{
		"e-mail":                               channels[0].ID,
		"E-MAIL":                               channels[0].ID,
		"Email":                                channels[0].ID, // the type
		"WEBHOOK":                              channels[1].ID,
		"0C000000-0000-4000-8000-000000000002": channels[1].ID,
	} {
		got, err := pickChannel(channels, want)
		if err != nil {
			t.Errorf("channel %q: %v", want, err)
			continue
		}
		if got.ID != id {
			t.Errorf("channel %q picked %s (%s), want %s", want, got.Name, got.ID, id)
		}
	}
}

// TestWrongURL: a target.icinga.url that is not the API base gives a 404
// on the first list; the error says to check target.icinga.url, shows
// the URL that was tried, and names the target and the request once.
func TestWrongURL(t *testing.T) {
	_, base := icingasim.Start(t, icingasim.Options{})
	for _, url := range []string{
		strings.TrimSuffix(base, "/v1"),                               // the web server's 404
		strings.TrimSuffix(base, "/api/v1") + "/api/v2",               // an unknown version
		strings.Replace(base, "/notifications/", "/notification/", 1), // a typo
	} {
		p := NewForTest(t, url, "icinga", "icinga")
		_, err := p.readChannel(context.Background())
		if err == nil {
			t.Fatalf("%s: reading the channels succeeded", url)
		}
		msg := err.Error()
		for _, want := range []string{"check target.icinga.url", url + "/channels", "(HTTP 404)"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: the error does not say %q: %s", url, want, msg)
			}
		}
		for _, once := range []string{"icinga:", "channels:"} {
			if n := strings.Count(msg, once); n != 1 {
				t.Errorf("%s: the error says %q %d times: %s", url, once, n, msg)
			}
		}
	}
}
