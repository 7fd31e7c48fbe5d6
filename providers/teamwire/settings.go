package teamwire

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/ldap"
)

// KindSettings is the plan kind of an organisation's LDAP settings: one
// object per organisation, keyed by the organisation id.
const KindSettings plan.Kind = "settings"

// OwnOrg is the key and id of the admin's own organisation when
// target.teamwire.organisations is empty: the API is then called without
// an organisation id.
const OwnOrg = "own"

// fieldBindPW is the one sensitive setting.
const fieldBindPW = "bindpw"

// numberFields are the settings the API types as Number.
var numberFields = map[string]bool{"synchronisation_interval": true, "connect_attempts": true, "connect_delay": true}

// postFields lists every setting POST ldapsettings accepts (the seed's
// "POST data" table), in its order.
var postFields = []string{
	"uri", "synchronisation_interval", "connect_attempts", "connect_delay",
	"binddn", "bindpw", "schema", "groups_basedn", "group_objects_filter",
	"groups_includelist", "groups_excludelist", "group_name_attr",
	"group_is_public_attr", "users_basedn", "user_objects_filter",
	"email_address_attr", "login_password_attr",
	"user_profile_department_attr", "user_profile_role_attr",
	"user_profile_status_attr", "user_profile_phone_attr",
	"user_profile_email_attr", "user_profile_website_attr",
	"user_profile_notes_attr",
}

// deprecatedFields maps the settings GET still returns but must not be
// used any more to their replacements.
var deprecatedFields = map[string]string{"groups_whitelist": "groups_includelist", "groups_blacklist": "groups_excludelist"}

// listFields may be written as YAML lists in settings:; they are sent
// comma-separated.
var listFields = map[string]bool{"groups_includelist": true, "groups_excludelist": true}

// settingsFromConfig validates target.teamwire.settings and returns each
// value as the string the plan compares.
func settingsFromConfig(in map[string]any) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(in)) {
		v := in[k]
		key := "target.teamwire.settings." + k
		if repl, ok := deprecatedFields[k]; ok {
			return nil, fmt.Errorf("%s is deprecated by Teamwire and will be removed; use %s instead", key, repl)
		}
		if k == fieldBindPW {
			return nil, fmt.Errorf("%s: the bind password is a secret and cannot go in settings:; it is source.bind_password, or target.teamwire.bind_password (or bind_password_file) when settings.binddn names another account", key)
		}
		if !slices.Contains(postFields, k) {
			return nil, fmt.Errorf("%s is not a Teamwire LDAP setting; known settings: %s", key, strings.Join(postFields, ", "))
		}
		switch {
		case numberFields[k]:
			n, ok := toInt(v)
			if !ok || n < 0 {
				return nil, fmt.Errorf("%s: want a whole number of at least 0, got %v", key, v)
			}
			if k == "synchronisation_interval" && n%5 != 0 {
				return nil, fmt.Errorf("%s: %d is not a multiple of 5 (minutes; 0 means the sync runs only when started)", key, n)
			}
			out[k] = strconv.FormatInt(n, 10)
		case listFields[k]:
			s, err := listValue(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			out[k] = s
		default:
			s, ok := v.(string)
			if !ok {
				if v == nil {
					s = ""
				} else {
					return nil, fmt.Errorf("%s: want a string, got %v", key, v)
				}
			}
			if k == "schema" && s != "inetorgperson" && s != "ad" {
				return nil, fmt.Errorf("%s: %q is not a schema Teamwire knows; use inetorgperson or ad", key, s)
			}
			out[k] = s
		}
	}
	return out, nil
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case uint64:
		return int64(n), n <= math.MaxInt64
	case float64:
		if n == math.Trunc(n) && !math.IsInf(n, 0) {
			return int64(n), true
		}
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		return i, err == nil
	}
	return 0, false
}

// listValue accepts "a,b" or a YAML list of names.
func listValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case []any:
		var names []string
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", fmt.Errorf("want group names, got %v", e)
			}
			names = append(names, s)
		}
		return joinNames(names)
	}
	return "", fmt.Errorf("want a comma-separated string or a list of group names, got %v", v)
}

// joinNames joins group names with commas, which cannot be part of a name.
func joinNames(names []string) (string, error) {
	for _, n := range names {
		if strings.Contains(n, ",") {
			return "", fmt.Errorf("group name %q contains a comma, which Teamwire uses to separate names", n)
		}
	}
	return strings.Join(names, ","), nil
}

// desired derives the managed settings from source: (when from is true)
// and overlays the configured ones. bindpw is the clear secret, if any.
// Only the settings docs/teamwire.md lists as derived come from source:;
// source.connect_attempts and connect_delay are ldapply's own and say
// nothing about how Teamwire should connect, so Teamwire's are managed
// only when settings: names them.
func desired(cfg *Config, src *ldap.Config) (attrs map[string]string, bindpw string, err error) {
	attrs = map[string]string{}
	if *cfg.FromSource && src != nil {
		attrs["uri"] = src.URI
		attrs["binddn"] = src.BindDN
		attrs["schema"] = src.Schema
		attrs["users_basedn"] = src.Users.Base
		attrs["groups_basedn"] = src.Groups.Base
		attrs["user_objects_filter"] = src.Users.Filter
		attrs["group_objects_filter"] = src.Groups.Filter
		if attrs["groups_includelist"], err = joinNames(src.Groups.Include); err != nil {
			return nil, "", fmt.Errorf("source.groups.include: %w", err)
		}
		if attrs["groups_excludelist"], err = joinNames(src.Groups.Exclude); err != nil {
			return nil, "", fmt.Errorf("source.groups.exclude: %w", err)
		}
		bindpw = src.BindPassword
	}
	conf, err := settingsFromConfig(cfg.Settings)
	if err != nil {
		return nil, "", err
	}
	maps.Copy(attrs, conf)
	if cfg.BindPassword != "" {
		bindpw = cfg.BindPassword
	}
	if _, overridden := conf["binddn"]; overridden && cfg.BindPassword == "" && *cfg.FromSource && src != nil && conf["binddn"] != src.BindDN {
		return nil, "", fmt.Errorf("target.teamwire.settings.binddn names another account than source.bind_dn; set target.teamwire.bind_password (or bind_password_file) to its password")
	}
	if bindpw != "" {
		attrs[fieldBindPW] = "" // placeholder: the plan stores a hash
	}
	return attrs, bindpw, nil
}

// Sensitive values are stored as plan.HashSecret hashes with a salt made
// per plan. The salt is also the prefix of every settings Version of the
// plan, so apply can recompute both.

// saltOfVersion returns the salt a settings Version was made with.
func saltOfVersion(v string) (string, bool) {
	salt, _, ok := strings.Cut(v, ":")
	return salt, ok && salt != ""
}

// Settings are an organisation's LDAP settings as GET returns them.
type Settings map[string]any

// str renders one setting as the plan compares it: numbers in decimal
// (whole numbers without a fraction), strings as they are, null as "".
func (s Settings) str(k string) (string, bool) {
	v, ok := s[k]
	if !ok {
		return "", false
	}
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case json.Number:
		if f, err := x.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return strconv.FormatInt(int64(f), 10), true
		}
		return x.String(), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10), true
		}
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	b, _ := json.Marshal(v)
	return string(b), true
}

// version hashes the settings with bindpw replaced by its salted hash, so
// the plan's version never reveals the password.
func (s Settings) version(salt string) string {
	cp := maps.Clone(s)
	if pw, ok := s.str(fieldBindPW); ok {
		cp[fieldBindPW] = plan.HashSecret(salt, pw)
	}
	return salt + ":" + plan.VersionOf(cp)
}

// Status is the LDAP sync status GET ldapsync returns.
type Status struct {
	LastUpdate       string     `json:"last_update"`
	LastRunState     string     `json:"last_run_state"`
	LastRunTimestamp string     `json:"last_run_timestamp"`
	StatusMsg        string     `json:"status_msg"`
	Progress         float64    `json:"progress"`
	SyncLog          []LogEntry `json:"sync_log"`
	TaskID           *int64     `json:"task_id"`
}

// LogEntry is one sync_log entry.
type LogEntry struct {
	Date     string `json:"date"`
	Severity string `json:"severity"`
	Msg      string `json:"msg"`
}

// Run states of [Status.LastRunState].
const (
	StateUnknown = "Unknown"
	StateRunning = "Running"
	StateSuccess = "Success"
	StateFailure = "Failure"
)

// FormatTimestamp renders the API's "seconds.microseconds since 1970"
// strings as UTC time; other strings are returned unchanged.
func FormatTimestamp(ts string) string {
	if ts == "" {
		return "(never)"
	}
	f, err := strconv.ParseFloat(ts, 64)
	if err != nil {
		return ts
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC().Format("2006-01-02 15:04:05 UTC")
}
