package scim

import "testing"

func TestAttributePaths(t *testing.T) {
	r := Resource{}
	r.Set("name.givenName", "Ada")
	r.Set("emails.work", "ada@example.org")
	r.Set(EnterpriseSchema+":department", "R&D")
	r.Set("displayName", "Ada L")
	for path, want := range map[string]string{
		"name.givenName": "Ada", "NAME.GIVENNAME": "Ada", "emails.work": "ada@example.org",
		EnterpriseSchema + ":department": "R&D", "displayName": "Ada L", "title": "",
	} {
		if got := r.Read(path); got != want {
			t.Errorf("Read(%s) = %q, want %q", path, got, want)
		}
	}
	ext, _ := r[EnterpriseSchema].(map[string]any)
	if ext["department"] != "R&D" {
		t.Errorf("the enterprise extension is stored as %v, want an object under its URN", r[EnterpriseSchema])
	}
	// A work address among others, not the first: the work one is read.
	r["emails"] = []any{map[string]any{"value": "home@x", "type": "home"}, map[string]any{"value": "w@x", "type": "work"}}
	if got := r.Read("emails.work"); got != "w@x" {
		t.Errorf("Read(emails.work) = %q, want the work address", got)
	}
	r.Unset("name.givenName")
	r.Unset("emails.work")
	if r.Read("name.givenName") != "" || r.Read("emails.work") != "" {
		t.Errorf("after Unset: %v", r)
	}
	if op := patchOp("emails.work", "n@x"); op.Op != "replace" || op.Path != "emails" {
		t.Errorf("patchOp(emails.work) = %+v, want a replace of emails", op)
	}
	if op := patchOp("name.familyName", ""); op.Op != "remove" || op.Path != "name.familyName" {
		t.Errorf("patchOp of an empty value = %+v, want a remove", op)
	}
}
